"""The LightningDataModule for MNIST and FashionMNIST, with a fast whole-tensor loader and torchvision's own.

The default "tensor" loader keeps each split as one uint8 tensor and builds a batch with a single indexing
operation, skipping torchvision's per-sample PIL conversion and the per-sample collate.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms

from vae_lightning.data.sources import DATASETS, DatasetSpec, default_cache_dir, locate_dataset
from vae_lightning.errors import ConfigError, DataError

LOADERS = ("tensor", "torchvision")
FIXED_BATCH_SPLITS = ("val", "test")


class InMemoryImages(Dataset):
    """A split held as one uint8 tensor (N, C, H, W); `__getitems__` returns a whole batch by tensor indexing.

    DataLoader's fetcher calls `__getitems__` with the batch's index list when it exists, so with
    `collate_prebatched` as collate_fn a batch costs one gather instead of B samples and a stack.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images
        self.labels = labels.long()
        self.domains = torch.zeros_like(self.labels)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return _to_float(self.images[index : index + 1])[0], int(self.labels[index])

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return _to_float(self.images[index]), self.labels[index]


def collate_prebatched(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate for `InMemoryImages`, whose batches arrive already stacked; module-level so workers can pickle it."""
    return batch


def _to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) to float32 in [0, 1], the same arithmetic as `transforms.ToTensor`."""
    return images.to(torch.float32).div(255)


class ImageDataModule(LightningDataModule):
    """MNIST or FashionMNIST with a seeded train/val split carved from the official training set.

    Yields `(images, labels)`: float32 (B, 1, 28, 28) in [0, 1] and int64 (B,). The test split is the official one.
    """

    def __init__(
        self,
        name: str,
        root: str = "data",
        batch_size: int = 128,
        eval_batch_size: int = 512,
        val_fraction: float = 0.1,
        loader: str = "tensor",
        num_workers: int = 0,
        download: bool = True,
        cache_dir: str | None = None,
        seed: int = 0,
        limit_train_samples: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        _check_config(self.hparams)
        self.spec: DatasetSpec = DATASETS[name]
        self.root = Path(root).expanduser().resolve()
        self.cache_dir = Path(cache_dir).expanduser().resolve() if cache_dir is not None else default_cache_dir()
        self._torchvision_root: Path | None = None
        self._in_memory: dict[str, InMemoryImages] = {}
        self._loader_datasets: dict[str, Dataset] = {}
        self._shuffle_generator: torch.Generator | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names

    @property
    def domain_names(self) -> tuple[str, ...]:
        return (self.hparams.name,)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.spec.image_shape

    def prepare_data(self) -> None:
        """Find, extract or download the files once, before any process calls `setup`."""
        self._locate()

    def setup(self, stage: str | None = None) -> None:
        """Build all three splits (cheap in memory), so image callbacks can use val and test panels in any stage."""
        if self._in_memory:
            return
        tv_root = self._locate()
        official = {
            "train": self._torchvision_split(tv_root, train=True),
            "test": self._torchvision_split(tv_root, train=False),
        }
        split_indices = self._split_indices(len(official["train"]))
        split_indices["test"] = torch.arange(len(official["test"]))
        for split, indices in split_indices.items():
            source = official["test" if split == "test" else "train"]
            self._in_memory[split] = InMemoryImages(source.data[indices].unsqueeze(1), source.targets[indices])
            if self.hparams.loader == "torchvision":
                self._loader_datasets[split] = Subset(source, indices.tolist())
            else:
                self._loader_datasets[split] = self._in_memory[split]
        self._shuffle_generator = torch.Generator().manual_seed(self.hparams.seed)

    def state_dict(self) -> dict[str, Any]:
        """The shuffle generator's state, saved in checkpoints so a resumed run sees the epochs' batch orders it
        would have seen uninterrupted."""
        return {"shuffle_generator": self._shuffle_generator.get_state()} if self._shuffle_generator else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "shuffle_generator" in state_dict:
            self._require_setup("load_state_dict")
            self._shuffle_generator.set_state(state_dict["shuffle_generator"])

    def train_dataloader(self) -> DataLoader:
        return self._dataloader("train", self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.ordered_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.ordered_dataloader("test")

    def split(self, name: str) -> InMemoryImages:
        """The in-memory images and labels of "train", "val" or "test" (whichever loader feeds training)."""
        self._require_setup("split")
        return self._in_memory[name]

    def ordered_dataloader(self, split: str) -> DataLoader:
        """Any split in file order, in evaluation-sized batches: for encoding a whole split, e.g. train for probes."""
        return self._dataloader(split, self.hparams.eval_batch_size, shuffle=False)

    def num_images(self, split: str) -> int:
        return len(self.split(split))

    def fixed_batch(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first `n` images (float (n, 1, H, W) in [0, 1]) and labels of "val" or "test", the same every call.

        Image panels use it so that the same inputs are shown at every epoch and in every run with the same seed.
        """
        if split not in FIXED_BATCH_SPLITS:
            raise ConfigError(f"fixed_batch split must be one of {', '.join(FIXED_BATCH_SPLITS)}, got {split!r}.")
        self._require_setup("fixed_batch")
        dataset = self._in_memory[split]
        if not 1 <= n <= len(dataset):
            raise ConfigError(f"fixed_batch needs 1 <= n <= {len(dataset)} (the size of the {split} split), got {n}.")
        return dataset.__getitems__(list(range(n)))

    def _locate(self) -> Path:
        if self._torchvision_root is None:
            self._torchvision_root = locate_dataset(self.spec, self.root, self.cache_dir, self.hparams.download)
        return self._torchvision_root

    def _torchvision_split(self, tv_root: Path, train: bool) -> Dataset:
        transform = transforms.ToTensor() if self.hparams.loader == "torchvision" else None
        return self.spec.torchvision_class(tv_root, train=train, download=False, transform=transform)

    def _split_indices(self, n_train: int) -> dict[str, torch.Tensor]:
        """Seeded random split of the official training set; each part sorted so it reads in file order."""
        n_val = round(n_train * self.hparams.val_fraction)
        if not 1 <= n_val < n_train:
            raise DataError(
                f"data.val_fraction={self.hparams.val_fraction} of {n_train} training images leaves "
                f"{n_val} for validation and {n_train - n_val} for training; both need at least one. Use a larger "
                "dataset or a val_fraction that leaves images on both sides."
            )
        permutation = torch.randperm(n_train, generator=torch.Generator().manual_seed(self.hparams.seed))
        train = permutation[n_val:]
        if self.hparams.limit_train_samples is not None:
            train = train[: self.hparams.limit_train_samples]
        return {"train": train.sort().values, "val": permutation[:n_val].sort().values}

    def _require_setup(self, caller: str) -> None:
        if not self._in_memory:
            raise DataError(f"ImageDataModule.{caller} was called before setup(); call datamodule.setup() first.")

    def _dataloader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        self._require_setup(f"{split}_dataloader")
        dataset = self._loader_datasets[split]
        workers = self.hparams.num_workers
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=False,
            collate_fn=collate_prebatched if isinstance(dataset, InMemoryImages) else None,
            generator=self._shuffle_generator if shuffle else None,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=torch.cuda.is_available(),  # page-locked batches copy to the GPU asynchronously
        )


def _is_int(value: object) -> bool:
    """True for ints but not bools, which YAML and Python would otherwise let through as 0 and 1."""
    return isinstance(value, int) and not isinstance(value, bool)


_CONFIG_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and v in DATASETS, f"one of {', '.join(DATASETS)}"),
    "root": (lambda v: isinstance(v, str | Path) and str(v) != "", "a non-empty directory path"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "eval_batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "val_fraction": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1,
        "a number in (0, 1)",
    ),
    "loader": (lambda v: isinstance(v, str) and v in LOADERS, f"one of {', '.join(LOADERS)}"),
    "num_workers": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "download": (lambda v: isinstance(v, bool), "true or false"),
    "cache_dir": (lambda v: v is None or (isinstance(v, str | Path) and str(v) != ""), "null (the default) or a path"),
    "seed": (_is_int, "an integer"),
    "limit_train_samples": (lambda v: v is None or (_is_int(v) and v >= 1), "null (all samples) or an integer >= 1"),
}


def _check_config(values: Mapping[str, Any]) -> None:
    """Reject bad values where they are set, naming the config key, the value and what is allowed."""
    for key, (is_allowed, allowed) in _CONFIG_RULES.items():
        if not is_allowed(values[key]):
            raise ConfigError(f"data.{key}={values[key]!r} is not allowed; it must be {allowed}.")
