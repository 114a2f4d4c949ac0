"""MNIST and FashionMNIST (`data=mnist`, `data=fashion`), with a fast whole-tensor loader and torchvision's own.

The default "tensor" loader keeps each split as one uint8 tensor and builds a batch with a single indexing
operation, skipping torchvision's per-sample PIL conversion and the per-sample collate.
"""

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset
from torchvision import transforms

from vae_lightning.data.base import ConfigRules, InMemoryDataModule, InMemoryImages
from vae_lightning.data.sources import DATASETS, DatasetSpec, default_cache_dir, locate_dataset
from vae_lightning.errors import ConfigError

LOADERS = ("tensor", "torchvision")

MNIST_FAMILY_RULES: ConfigRules = {
    "root": (lambda v: isinstance(v, str | Path) and str(v) != "", "a non-empty directory path"),
    "download": (lambda v: isinstance(v, bool), "true or false"),
    "cache_dir": (lambda v: v is None or (isinstance(v, str | Path) and str(v) != ""), "null (the default) or a path"),
}


def resolve_cache_dir(cache_dir: str | None) -> Path:
    return Path(cache_dir).expanduser().resolve() if cache_dir is not None else default_cache_dir()


def read_official_splits(spec: DatasetSpec, tv_root: Path) -> dict[str, InMemoryImages]:
    """The official train and test splits of an MNIST-family dataset found at `tv_root`, as uint8 (N, 1, H, W)."""
    splits = {}
    for split in ("train", "test"):
        dataset = spec.torchvision_class(tv_root, train=split == "train", download=False)
        splits[split] = InMemoryImages(dataset.data.unsqueeze(1), dataset.targets)
    return splits


class MNISTFamilyDataModule(InMemoryDataModule):
    """MNIST or FashionMNIST with a seeded train/val split carved from the official training set.

    Yields `(images, labels)`: float32 (B, 1, 28, 28) in [0, 1] and int64 (B,). The test split is the official one.
    """

    config_rules = {
        "name": (lambda v: isinstance(v, str) and v in DATASETS, f"one of {', '.join(DATASETS)}"),
        "loader": (lambda v: isinstance(v, str) and v in LOADERS, f"one of {', '.join(LOADERS)}"),
        **MNIST_FAMILY_RULES,
    }

    def __init__(
        self,
        name: str,
        root: str = "data",
        loader: str = "tensor",
        download: bool = True,
        cache_dir: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if loader == "torchvision" and self.hparams.labeled_fraction < 1:
            raise ConfigError(
                f"data.loader=torchvision cannot hide labels (data.labeled_fraction={self.hparams.labeled_fraction}); "
                "use data.loader=tensor, which supports every option."
            )
        self.spec: DatasetSpec = DATASETS[name]
        self.root = Path(root).expanduser().resolve()
        self.cache_dir = resolve_cache_dir(cache_dir)
        self._torchvision_root: Path | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.spec.image_shape

    def prepare_data(self) -> None:
        """Find, extract or download the files once, before any process calls `setup`."""
        self._locate()

    def load_splits(self) -> dict[str, InMemoryImages]:
        return read_official_splits(self.spec, self._locate())

    def per_sample_dataset(self, source_split: str, indices: torch.Tensor) -> Dataset | None:
        if self.hparams.loader != "torchvision":
            return None
        dataset = self.spec.torchvision_class(self._locate(), train=source_split == "train", download=False,
                                              transform=transforms.ToTensor())
        return Subset(dataset, indices.tolist())

    def _locate(self) -> Path:
        if self._torchvision_root is None:
            self._torchvision_root = locate_dataset(self.spec, self.root, self.cache_dir, self.hparams.download)
        return self._torchvision_root
