"""Which classes may be rebuilt from a checkpoint: the import path it records, restricted to trusted packages.

A checkpoint names the model and data-module classes that wrote it (`module.Class`). Rebuilding imports that module,
so only this package's classes are imported by default; a model or data module of your own is imported when its
top-level package is named in `trusted_packages` (see docs/extending.md). Nothing is ever unpickled from the file.
"""

import importlib
from collections.abc import Sequence
from pathlib import Path

from vae_lightning.errors import CheckpointError

PACKAGE = "vae_lightning"

# Checkpoints written before import paths were recorded name their data-module classes only.
RECORDED_BY_NAME = {
    "ImageDataModule": "vae_lightning.data.mnist_family.MNISTFamilyDataModule",
    "MultiDomainDataModule": "vae_lightning.data.multidomain.MultiDomainDataModule",
    "ImageFolderDataModule": "vae_lightning.data.image_folder.ImageFolderDataModule",
    "CelebADataModule": "vae_lightning.data.celeba.CelebADataModule",
}


def recorded_class(recorded: str, base: type, trusted_packages: Sequence[str], checkpoint: Path) -> type:
    """The class a checkpoint names, imported only from this package or a trusted one, and a subclass of `base`."""
    return trusted_class(RECORDED_BY_NAME.get(recorded, recorded), base, trusted_packages, checkpoint)


def trusted_class(path: str, base: type, trusted_packages: Sequence[str], checkpoint: Path) -> type:
    """The class at import path `path`, imported only from this package or a trusted one, and a subclass of
    `base`."""
    module_name, _, class_name = path.rpartition(".")
    top_level = module_name.partition(".")[0]
    trusted = (PACKAGE, *trusted_packages)
    if top_level not in trusted:
        raise CheckpointError(
            f"Checkpoint {checkpoint} was written by {path!r}, which is outside the packages trusted to be imported "
            f"({', '.join(trusted)}). If that is your own code and you trust it, add trusted_packages=[{top_level}] "
            "to the command (the package must be importable, e.g. from the working directory)."
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise CheckpointError(
            f"Checkpoint {checkpoint} was written by {path!r}, which cannot be imported here ({error}). Analyse it "
            "with the version of the code that trained it, or make that module importable (e.g. run from the "
            "directory that holds it)."
        ) from error
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise CheckpointError(f"Checkpoint {checkpoint} names {path!r}, which is not a {base.__name__}; it was not "
                              "written by vae_lightning.train. Analyse a checkpoint from a training run.")
    return cls
