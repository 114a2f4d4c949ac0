"""Any folder of images as a data set (`data=image_folder data.path=/your/images`): one class per sub-folder.

The images are decoded once into square uint8 tensors of `image_size` pixels and cached (`decoded_cache`), so the
second run starts in seconds. A seeded test split takes the same share of every class, so a small class is still
represented in the test numbers; validation is then carved from the rest like for every data module.
"""

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import torch

from vae_lightning.data.base import IMAGE_SIZE_RULE, NAME_RULE, InMemoryDataModule, InMemoryImages, is_fraction
from vae_lightning.data.decoded_cache import decoded_images
from vae_lightning.data.mnist_family import MNIST_FAMILY_RULES, resolve_cache_dir
from vae_lightning.errors import DataError

log = logging.getLogger("vae_lightning.data")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
TEST_SPLIT_OFFSET = 2  # seed offset of the test split; the base uses 0 (validation) and 1 (hidden labels)


@dataclasses.dataclass(frozen=True)
class FolderListing:
    """The image files of a folder in a fixed order (class by class, then by path) and their class indices."""

    class_names: tuple[str, ...]
    files: tuple[Path, ...]
    labels: tuple[int, ...]


def list_image_folder(path: Path) -> FolderListing:
    """The classes and image files under `path`: each immediate sub-folder holding images (searched recursively) is
    a class, in sorted order; a folder without such sub-folders is one class named after the folder."""
    if not path.is_dir():
        problem = "does not exist" if not path.exists() else "is not a directory"
        raise DataError(
            f"data.path={path} {problem}. Set data.path to the folder of your images (one sub-folder per class, or "
            "all images in the folder itself for a single class), e.g. data.path=/your/images."
        )
    sub_folders = sorted(entry for entry in path.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    per_class = {folder.name: files for folder in sub_folders if (files := _image_files(folder))}
    loose = _image_files(path, recursive=False)
    if not per_class and loose:
        per_class = {path.name: loose}
    elif loose:
        log.warning("%s: ignoring %d image files directly in the folder: with class sub-folders, only their "
                    "images are read", path, len(loose))
    if not per_class:
        raise DataError(
            f"data.path={path} holds no image files (read are files ending in {', '.join(IMAGE_EXTENSIONS)}, in any "
            "letter case, in the folder or its sub-folders). Point data.path at the folder that holds the images."
        )
    if empty := [folder.name for folder in sub_folders if folder.name not in per_class]:
        log.warning("%s: sub-folders without image files are not classes: %s", path, ", ".join(empty))
    names = tuple(per_class)
    files = tuple(file for name in names for file in per_class[name])
    labels = tuple(index for index, name in enumerate(names) for _ in per_class[name])
    return FolderListing(names, files, labels)


def _image_files(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files under `folder` by extension, sorted, skipping hidden files and folders (e.g. `.ipynb_checkpoints`);
    symbolic links are followed, so a folder of links to images elsewhere works."""
    found = []
    for directory, sub_dirs, names in os.walk(folder, followlinks=True):
        sub_dirs[:] = [name for name in sub_dirs if recursive and not name.startswith(".")]
        found += [Path(directory) / name for name in names
                  if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(found)


def stratified_test_mask(labels: torch.Tensor, class_names: tuple[str, ...], test_fraction: float,
                         generator: torch.Generator) -> torch.Tensor:
    """True for the test images: `test_fraction` of every class (at least one), chosen with `generator`."""
    test = torch.zeros(len(labels), dtype=torch.bool)
    for label, name in enumerate(class_names):
        members = torch.nonzero(labels == label).flatten()
        n_test = max(1, round(len(members) * test_fraction))
        if n_test >= len(members):
            raise DataError(
                f"Class {name!r} has {len(members)} image(s), too few to give data.test_fraction={test_fraction} of "
                "them to the test split and keep some for training (each class needs at least 2, one for each). "
                "Add images to that class, remove its folder, or lower data.test_fraction."
            )
        test[members[torch.randperm(len(members), generator=generator)[:n_test]]] = True
    return test


class ImageFolderDataModule(InMemoryDataModule):
    """The images under `path` as RGB (or `grayscale`) `image_size` × `image_size` squares, labelled by sub-folder.

    `name` only names the run directory. `grayscale` is not called `channels`, the model's key: Lightning logs the
    model's and the data module's settings together and refuses a key that both have with different values.
    """

    config_rules = {
        "path": (lambda v: isinstance(v, str) and v != "",
                 "the folder of your images, e.g. data.path=/your/images (one sub-folder per class)"),
        "name": NAME_RULE,
        "image_size": IMAGE_SIZE_RULE,
        "grayscale": (lambda v: isinstance(v, bool), "true (one grey channel) or false (RGB)"),
        "test_fraction": (is_fraction, "a number in (0, 1)"),
        "cache_dir": MNIST_FAMILY_RULES["cache_dir"],
    }

    def __init__(
        self,
        path: str | None,
        name: str = "image_folder",
        image_size: int = 64,
        grayscale: bool = False,
        test_fraction: float = 0.1,
        cache_dir: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.path = Path(path).expanduser().resolve()
        self.hparams.path = str(self.path)  # saved absolute, so the run can be analysed from any directory
        self.cache_dir = resolve_cache_dir(cache_dir)
        self._listing: FolderListing | None = None
        self._images: torch.Tensor | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.listing().class_names

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return 1 if self.hparams.grayscale else 3, self.hparams.image_size, self.hparams.image_size

    def listing(self) -> FolderListing:
        if self._listing is None:
            self._listing = list_image_folder(self.path)
        return self._listing

    def prepare_data(self) -> None:
        """Decode the folder into the cache once, before any process calls `setup`."""
        self.decoded()

    def decoded(self) -> torch.Tensor:
        """Every image of `listing()` as uint8 (N, C, S, S), in its order."""
        if self._images is None:
            self._images = decoded_images(self.listing().files, self.path, self.cache_dir,
                                          self.hparams.image_size, channels=self.image_shape[0])
        return self._images

    def load_splits(self) -> dict[str, InMemoryImages]:
        listing = self.listing()
        everything = InMemoryImages(self.decoded(), torch.tensor(listing.labels))
        test = stratified_test_mask(everything.labels, listing.class_names, self.hparams.test_fraction,
                                    self._generator(offset=TEST_SPLIT_OFFSET))
        return {"train": everything.subset(torch.nonzero(~test).flatten()),
                "test": everything.subset(torch.nonzero(test).flatten())}
