"""CelebA faces (`data=celeba`): the aligned 178×218 photos, centre-cropped to the face and resized, labelled by one
of the 40 binary attributes, split by the official train/valid/test partition.

The files are read in torchvision's layout (`<root>/celeba/...`), but never downloaded:
its Google Drive download needs `gdown` and is usually refused for exceeding the quota, so a missing file is reported
with its full path and where to get it. The images are decoded once into the shared decoded-image cache.
"""

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torchvision.datasets import CelebA
from torchvision.datasets.utils import check_integrity

from vae_lightning.data.base import (
    IMAGE_SIZE_RULE,
    MIN_IMAGE_SIZE,
    NAME_RULE,
    InMemoryDataModule,
    InMemoryImages,
    is_int,
)
from vae_lightning.data.decoded_cache import decoded_images
from vae_lightning.data.mnist_family import MNIST_FAMILY_RULES, resolve_cache_dir
from vae_lightning.data.sources import DATA_ENV_VAR
from vae_lightning.errors import ConfigError, DataError

CELEBA_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
IMAGE_FOLDER = "img_align_celeba"
ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
ALIGNED_WIDTH = 178  # the aligned photos are 178 × 218; a crop cannot be wider
PARTITIONS = {"train": 0, "val": 1, "test": 2}  # the codes of list_eval_partition.txt
# (Google Drive file id, MD5, name) of each file, as torchvision lists them; the zip is the image folder, extracted.
ARCHIVE = next(entry for entry in CelebA.file_list if entry[2].endswith(".zip"))
ANNOTATIONS = tuple(entry for entry in CelebA.file_list if entry is not ARCHIVE)


def celeba_folder(root: Path) -> Path:
    return root / CelebA.base_folder


def check_celeba_files(root: Path, verify_checksums: bool) -> None:
    """Raise a DataError naming every missing file with its full path and source, or every annotation file whose
    MD5 differs from the one torchvision lists; torchvision itself only says "not found or corrupted"."""
    folder = celeba_folder(root)
    missing = [] if (folder / IMAGE_FOLDER).is_dir() else [
        f"{folder / IMAGE_FOLDER}/ (the 202,599 aligned JPEGs: extract {ARCHIVE[2]}, {_drive_link(ARCHIVE[0])}, "
        f"into {folder})"
    ]
    missing += [f"{folder / name} ({_drive_link(file_id)})" for file_id, _, name in ANNOTATIONS
                if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"CelebA is incomplete under data.root={root}; missing: {'; '.join(missing)}. Get them from the official "
            f"CelebA page {CELEBA_PAGE} (its Google Drive: img_align_celeba.zip under 'Img', the list_*.txt and "
            "identity_CelebA.txt files under 'Anno' and 'Eval') or the links given, and place them exactly as "
            f"listed. data.root=... or the environment variable {DATA_ENV_VAR} sets the folder that holds celeba/."
        )
    if verify_checksums:
        damaged = [f"{folder / name} (expected MD5 {md5})" for _, md5, name in ANNOTATIONS
                   if not check_integrity(str(folder / name), md5)]
        if damaged:
            raise DataError(
                f"These CelebA files do not have the MD5 checksum of the official release: {'; '.join(damaged)}. "
                "Download them again; or, for a copy you trust that was re-packed (e.g. with other line endings), "
                "set data.verify_checksums=false."
            )


def attribute_names(root: Path) -> tuple[str, ...]:
    """The 40 attribute names, from the second line of list_attr_celeba.txt (the first is the image count)."""
    with (celeba_folder(root) / ATTRIBUTES_FILE).open() as lines:
        lines.readline()
        return tuple(lines.readline().split())


def _drive_link(file_id: str) -> str:
    return f"https://drive.google.com/file/d/{file_id}"


class Annotations(NamedTuple):
    filenames: list[str]
    attributes: torch.Tensor  # (N, 40) int64, 1 where the attribute is present and 0 where not
    attribute_names: tuple[str, ...]
    partition: torch.Tensor  # (N,) the official partition code of each image (see PARTITIONS)


def read_annotations(root: Path) -> Annotations:
    """list_attr_celeba.txt (the image count, the 40 names, then per image its file name and ±1 per attribute) and
    list_eval_partition.txt, read here rather than by torchvision's CelebA, whose own file check would refuse
    re-packed copies that `check_celeba_files` lets through with data.verify_checksums=false."""
    path = celeba_folder(root) / ATTRIBUTES_FILE
    with path.open() as lines:
        declared = int(lines.readline())
        names = tuple(lines.readline().split())
        rows = [line.split() for line in lines if line.strip()]
    if len(rows) != declared or any(len(row) != len(names) + 1 for row in rows):
        raise ValueError(f"{path} declares {declared} images of {len(names)} attributes but holds {len(rows)} lines, "
                         "not all of that many fields")
    values = torch.tensor([[int(value) for value in row[1:]] for row in rows])
    with (celeba_folder(root) / PARTITION_FILE).open() as lines:
        codes = dict(line.split() for line in lines if line.strip())
    if len(codes) != len(rows):
        raise ValueError(f"{ATTRIBUTES_FILE} lists {len(rows)} images but {PARTITION_FILE} lists {len(codes)}; one of "
                         "them is truncated or from another release")
    filenames = [row[0] for row in rows]
    return Annotations(filenames, (values + 1) // 2, names, torch.tensor([int(codes[name]) for name in filenames]))


class CelebADataModule(InMemoryDataModule):
    """CelebA as RGB `image_size` × `image_size` faces: the central `crop` × `crop` square (140, the usual face
    crop) resized; labels 1 where `label_attribute` is present, 0 where not.

    `verify_checksums=false` skips the MD5 check of the annotation files, for copies re-packed with other line
    endings or whitespace.
    """

    config_rules = {
        "root": MNIST_FAMILY_RULES["root"],
        "name": NAME_RULE,
        "image_size": IMAGE_SIZE_RULE,
        "crop": (lambda v: is_int(v) and MIN_IMAGE_SIZE <= v <= ALIGNED_WIDTH,
                 f"an integer from {MIN_IMAGE_SIZE} to {ALIGNED_WIDTH} (the width of the aligned photos), e.g. 140"),
        "label_attribute": (lambda v: isinstance(v, str) and v != "", "one of the 40 CelebA attributes, e.g. Male"),
        "verify_checksums": (lambda v: isinstance(v, bool), "true or false"),
        "cache_dir": MNIST_FAMILY_RULES["cache_dir"],
    }

    def __init__(
        self,
        root: str,
        name: str = "celeba",
        image_size: int = 64,
        crop: int = 140,
        label_attribute: str = "Male",
        verify_checksums: bool = True,
        cache_dir: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.root = Path(root).expanduser().resolve()
        self.cache_dir = resolve_cache_dir(cache_dir)
        self._annotations_read: Annotations | None = None
        self._images: torch.Tensor | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        attribute = self.hparams.label_attribute
        return f"not {attribute}", attribute

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return 3, self.hparams.image_size, self.hparams.image_size

    def prepare_data(self) -> None:
        """Check the files and decode the images into the cache once, before any process calls `setup`."""
        self._decoded(self._annotations())

    def load_splits(self) -> dict[str, InMemoryImages]:
        annotations = self._annotations()
        labels = annotations.attributes[:, annotations.attribute_names.index(self.hparams.label_attribute)]
        everything = InMemoryImages(self._decoded(annotations), labels)
        return {split: everything.subset(torch.nonzero(annotations.partition == code).flatten())
                for split, code in PARTITIONS.items()}

    def _annotations(self) -> Annotations:
        """The attribute annotations, after checking the files and the label attribute."""
        if self._annotations_read is not None:
            return self._annotations_read
        check_celeba_files(self.root, self.hparams.verify_checksums)
        names = attribute_names(self.root)
        if self.hparams.label_attribute not in names:
            raise ConfigError(
                f"data.label_attribute={self.hparams.label_attribute!r} is not a CelebA attribute. Use one of: "
                f"{', '.join(names)} (the header of {celeba_folder(self.root) / ATTRIBUTES_FILE})."
            )
        try:
            annotations = read_annotations(self.root)
        except (ValueError, KeyError) as error:
            raise DataError(
                f"The CelebA annotation files in {celeba_folder(self.root)} could not be read ({type(error).__name__}: "
                f"{error}); they are damaged or not the official ones. Download them again (see {CELEBA_PAGE})."
            ) from error
        self._annotations_read = annotations
        return annotations

    def _decoded(self, annotations: Annotations) -> torch.Tensor:
        if self._images is None:
            images = celeba_folder(self.root) / IMAGE_FOLDER
            self._images = decoded_images([images / name for name in annotations.filenames], images, self.cache_dir,
                                          self.hparams.image_size, channels=3, crop=self.hparams.crop)
        return self._images
