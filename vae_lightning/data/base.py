"""What every data module shares: splits held in memory as uint8, a seeded validation split, hidden labels for the
semi-supervised setting, binarisation (`data.binarize`), and loaders that build a batch with one indexing operation.

A subclass only says where the images come from (`load_splits`) and what they are (`class_names`, `domain_names`,
`image_shape`); splitting, label hiding, binarising, batching and the random state saved in checkpoints are the same
for all.
"""

from collections.abc import Callable, Mapping
from typing import Any

import torch
from lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from vae_lightning.data.binarize import (
    BINARIZE_MODES,
    DYNAMIC_SEED_OFFSET,
    binarize,
    binarize_split,
    binarizes_per_batch,
)
from vae_lightning.data.fingerprint import fingerprint
from vae_lightning.errors import ConfigError, DataError

FIXED_BATCH_SPLITS = ("val", "test")
FINGERPRINTED_SPLITS = ("train", "val", "test")
HIDDEN_LABEL = -1  # what a training batch carries in place of a label that data.labeled_fraction hides


class InMemoryImages(Dataset):
    """A split held as uint8 images (N, C, H, W) with their labels, domain indices and, for data rendered from known
    generative factors, each image's factor combination (N, K).

    `labels` are always the true labels (analysis probes need them); batches carry `HIDDEN_LABEL` where `hidden` is
    set. `batch` gathers a whole batch in one indexing operation; DataLoader's fetcher reaches it through the
    `__getitems__` protocol, so with `collate_prebatched` a batch costs one gather instead of B samples and a stack.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, domains: torch.Tensor | None = None,
                 hidden: torch.Tensor | None = None, factors: torch.Tensor | None = None) -> None:
        self.images = images
        self.labels = labels.long()
        self.domains = torch.zeros_like(self.labels) if domains is None else domains.long()
        self.hidden = torch.zeros_like(self.labels, dtype=torch.bool) if hidden is None else hidden
        self.factors = factors
        self._batch_labels = self.labels.masked_fill(self.hidden, HIDDEN_LABEL)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return as_float_images(self.images[index : index + 1])[0], int(self._batch_labels[index])

    def batch(self, indices: list[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images (B, C, H, W) in [0, 1] and the labels a training batch carries, for `indices`."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return as_float_images(self.images[index]), self._batch_labels[index]

    __getitems__ = batch  # the batched-fetch protocol of torch's DataLoader

    def with_images(self, images: torch.Tensor) -> "InMemoryImages":
        """The same split with other images of the same number, e.g. a binarised draw of these."""
        return InMemoryImages(images, self.labels, self.domains, self.hidden, self.factors)

    def subset(self, indices: torch.Tensor) -> "InMemoryImages":
        if len(indices) == len(self) and torch.equal(indices, torch.arange(len(self))):
            return self  # the whole split in order: no copy, so a large grid (dSprites, 3 GB) is held once
        factors = self.factors[indices] if self.factors is not None else None
        return InMemoryImages(self.images[indices], self.labels[indices], self.domains[indices], self.hidden[indices],
                              factors)

    def with_hidden(self, hidden: torch.Tensor) -> "InMemoryImages":
        return InMemoryImages(self.images, self.labels, self.domains, hidden, self.factors)


def concatenate(parts: list[InMemoryImages]) -> InMemoryImages:
    """One split from several, e.g. the domains of a multi-domain set; images must share their shape."""
    return InMemoryImages(torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts]),
                          torch.cat([p.domains for p in parts]), torch.cat([p.hidden for p in parts]))


def collate_prebatched(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate for `InMemoryImages`, whose batches arrive already stacked; module-level so workers can pickle it."""
    return batch


def as_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) to float32 in [0, 1], the same arithmetic as `transforms.ToTensor`."""
    return images.to(torch.float32).div(255)


def is_int(value: object) -> bool:
    """True for ints but not bools, which YAML and Python would otherwise let through as 0 and 1."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_fraction(value: object, closed_right: bool = False) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and (
        value <= 1 if closed_right else value < 1)


ConfigRules = Mapping[str, tuple[Callable[[Any], bool], str]]

MIN_IMAGE_SIZE = 8  # the smallest side an image is resized to; the encoder needs room to halve it

NAME_RULE = (lambda v: isinstance(v, str) and v != "", "a non-empty name for the run directory")
IMAGE_SIZE_RULE = (lambda v: is_int(v) and v >= MIN_IMAGE_SIZE,
                   f"an integer >= {MIN_IMAGE_SIZE}, the side of the square images in pixels (e.g. 64)")

COMMON_RULES: ConfigRules = {
    "batch_size": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "eval_batch_size": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "val_fraction": (is_fraction, "a number in (0, 1)"),
    "labeled_fraction": (lambda v: is_fraction(v, closed_right=True), "a number in (0, 1]"),
    "num_workers": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "seed": (is_int, "an integer"),
    "limit_train_samples": (lambda v: v is None or (is_int(v) and v >= 1), "null (all samples) or an integer >= 1"),
    "binarize": (lambda v: v in BINARIZE_MODES,
                 "one of 'none' (grey pixels), 'dynamic' (a fresh seeded Bernoulli draw of each training image "
                 "every time it is seen, Burda et al. 2016; fixed draws for val and test), 'static' (one seeded draw "
                 "of every split, kept) or 'threshold' (pixel > 0.5); a Bernoulli decoder is a likelihood only on "
                 "binary pixels"),
}


def check_config(values: Mapping[str, Any], rules: ConfigRules) -> None:
    """Reject bad values where they are set, naming the config key, the value and what is allowed."""
    for key, (is_allowed, allowed) in rules.items():
        if not is_allowed(values[key]):
            raise ConfigError(f"data.{key}={values[key]!r} is not allowed; it must be {allowed}.")


class InMemoryDataModule(LightningDataModule):
    """Train/val/test splits in memory; yields `(images, labels)`: float32 (B, C, H, W) in [0, 1] and int64 (B,).

    Validation is carved from the training split with `seed` unless the source has its own. With
    `labeled_fraction` < 1 the training split keeps that share of labels in every class (chosen with `seed`) and
    carries `HIDDEN_LABEL` for the rest; validation and test keep all labels so accuracy is measured on all images.
    `binarize` (see `data/binarize.py`) replaces the grey images by seeded Bernoulli draws or a threshold; under
    `dynamic` each training batch is drawn as it is loaded, from a generator saved in checkpoints like the shuffle.
    """

    config_rules: ConfigRules = {}  # a subclass's own keys, checked with the common ones

    def __init__(
        self,
        batch_size: int = 128,
        eval_batch_size: int = 512,
        val_fraction: float = 0.1,
        labeled_fraction: float = 1.0,
        num_workers: int = 0,
        seed: int = 0,
        limit_train_samples: int | None = None,
        binarize: str = "none",
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        check_config(self.hparams, {**COMMON_RULES, **self.config_rules})
        self._in_memory: dict[str, InMemoryImages] = {}
        self._loader_datasets: dict[str, Dataset] = {}
        self._shuffle_generator: torch.Generator | None = None
        self._binarize_generator: torch.Generator | None = None
        self._ordered_train: InMemoryImages | None = None  # a fixed draw of the training split under `dynamic`
        self._fingerprints: dict[str, str] = {}

    @property
    def class_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def domain_names(self) -> tuple[str, ...]:
        """One name per domain index in `InMemoryImages.domains`; a single-source module has one."""
        return (self.hparams.name,)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def model_inputs(self) -> dict[str, Callable[[], Any]]:
        """What a model may take from its data, by name (a model lists what it needs in `needs_from_data`); each is
        computed only when asked for, from the settings alone where possible, so a config is checked without data."""
        return {"image_shape": lambda: tuple(self.image_shape), "num_classes": lambda: len(self.class_names)}

    def load_splits(self) -> dict[str, InMemoryImages]:
        """The source's "train" and "test" splits (and "val" if it has its own), labels and domains included."""
        raise NotImplementedError

    def per_sample_dataset(self, source_split: str, indices: torch.Tensor) -> Dataset | None:
        """A per-sample dataset to load `indices` of a source split with instead of the in-memory tensors; none here."""
        return None

    def setup(self, stage: str | None = None) -> None:
        """Build all three splits (cheap in memory), so image callbacks can use val and test panels in any stage."""
        if self._in_memory:
            return
        sources = self.load_splits()
        indices = self._split_indices(sources)
        for split, (source_split, chosen) in indices.items():
            self._in_memory[split] = sources[source_split].subset(chosen)
        self._in_memory["train"] = self._in_memory["train"].with_hidden(self._hidden_labels(self._in_memory["train"]))
        self._binarize_splits()
        for split, (source_split, chosen) in indices.items():
            per_sample = self.per_sample_dataset(source_split, chosen)
            if per_sample is not None and self.hparams.binarize != "none":
                raise ConfigError(
                    f"data.binarize={self.hparams.binarize!r} works on the images held in memory, but "
                    f"{type(self).__name__} loads the {split} split sample by sample. Use the in-memory loader "
                    "(e.g. data.loader=tensor) or data.binarize=none.")
            self._loader_datasets[split] = per_sample if per_sample is not None else self._in_memory[split]
        self._shuffle_generator = torch.Generator().manual_seed(self.hparams.seed)
        self._binarize_generator = torch.Generator().manual_seed(self.hparams.seed + DYNAMIC_SEED_OFFSET)

    def _binarize_splits(self) -> None:
        """Each split as `data.binarize` holds it (`binarize_split`); under `dynamic` the training split stays grey
        for the per-batch draws, and encoding it in order (analysis) reads one fixed seeded draw instead."""
        mode, seed = self.hparams.binarize, self.hparams.seed
        for split, images in self._in_memory.items():
            self._in_memory[split] = images.with_images(binarize_split(images.images, mode, seed, split))
        if binarizes_per_batch(mode, "train"):
            train = self._in_memory["train"]
            self._ordered_train = train.with_images(binarize_split(train.images, "static", seed, "train"))

    def pixels_are_binary(self) -> bool:
        """Whether every test pixel is 0 or 1 (binarised here, or binary at the source): where a Bernoulli decoder's
        −log p(x | z) is a likelihood rather than a reconstruction loss."""
        images = self.split("test").images
        return bool(((images == 0) | (images == 255)).all())

    def on_before_batch_transfer(self, batch: tuple[torch.Tensor, torch.Tensor],
                                 dataloader_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Under `data.binarize=dynamic`, a fresh Bernoulli draw of each training batch (Burda et al. 2016), in the
        main process from the checkpointed generator, so a resumed run draws what it would have uninterrupted."""
        trainer = self.trainer
        if trainer is None or not trainer.training or not binarizes_per_batch(self.hparams.binarize, "train"):
            return batch
        images, labels = batch
        return binarize(images, "dynamic", self._binarize_generator), labels

    def state_dict(self) -> dict[str, Any]:
        """The shuffle and binarisation generators' states, saved in checkpoints so a resumed run sees the batch
        orders and dynamic binary draws it would have seen uninterrupted."""
        if self._shuffle_generator is None:
            return {}
        return {"shuffle_generator": self._shuffle_generator.get_state(),
                "binarize_generator": self._binarize_generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "shuffle_generator" in state_dict:
            self._require_setup("load_state_dict")
            self._shuffle_generator.set_state(state_dict["shuffle_generator"])
        if "binarize_generator" in state_dict:  # absent from checkpoints written before data.binarize existed
            self._binarize_generator.set_state(state_dict["binarize_generator"])

    def train_dataloader(self) -> DataLoader:
        return self._dataloader("train", self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.ordered_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.ordered_dataloader("test")

    def split(self, name: str) -> InMemoryImages:
        """The in-memory images, true labels and domains of "train", "val" or "test"."""
        self._require_setup("split")
        return self._in_memory[name]

    def evaluated_split(self, name: str) -> InMemoryImages:
        """The images evaluation reads of a split: `split(name)`, except that under `data.binarize=dynamic` the
        training split is one fixed seeded draw, like val and test."""
        self._require_setup("evaluated_split")
        return self._ordered_train if name == "train" and self._ordered_train is not None else self._in_memory[name]

    def fingerprint(self, split: str) -> str:
        """A short hash of a split's images as held (the kept binary draw where `data.binarize` keeps one) and its
        labels: what tells two data sets apart when their settings agree (another `data.root`, files changed), for
        the resume check and metrics.json. Computed once per split."""
        if split not in self._fingerprints:
            held = self.split(split)
            self._fingerprints[split] = fingerprint(held.images, held.labels)
        return self._fingerprints[split]

    def fingerprints(self) -> dict[str, str]:
        """`fingerprint` of the training, validation and test splits, by name."""
        return {split: self.fingerprint(split) for split in FINGERPRINTED_SPLITS}

    def ordered_dataloader(self, split: str) -> DataLoader:
        """Any split in file order, in evaluation-sized batches: for encoding a whole split, e.g. train for probes.
        Under `data.binarize=dynamic` the training split comes as one fixed seeded draw, like val and test."""
        return self._dataloader(split, self.hparams.eval_batch_size, shuffle=False)

    def num_images(self, split: str) -> int:
        return len(self.split(split))

    def fixed_batch(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first `n` images (float (n, C, H, W) in [0, 1]) and labels of "val" or "test", the same every call.

        Image panels use it so that the same inputs are shown at every epoch and in every run with the same seed.
        """
        if split not in FIXED_BATCH_SPLITS:
            raise ConfigError(f"fixed_batch split must be one of {', '.join(FIXED_BATCH_SPLITS)}, got {split!r}.")
        self._require_setup("fixed_batch")
        dataset = self._in_memory[split]
        if not 1 <= n <= len(dataset):
            raise ConfigError(f"fixed_batch needs 1 <= n <= {len(dataset)} (the size of the {split} split), got {n}.")
        return dataset.batch(list(range(n)))

    def _split_indices(self, sources: Mapping[str, InMemoryImages]) -> dict[str, tuple[str, torch.Tensor]]:
        """For each split, the source split it is drawn from and the indices, sorted so each reads in file order."""
        n_train = len(sources["train"])
        permutation = torch.randperm(n_train, generator=self._generator())
        indices = {"test": ("test", torch.arange(len(sources["test"])))}
        if "val" in sources:
            train, indices["val"] = permutation, ("val", torch.arange(len(sources["val"])))
        else:
            n_val = round(n_train * self.hparams.val_fraction)
            if not 1 <= n_val < n_train:
                raise DataError(
                    f"data.val_fraction={self.hparams.val_fraction} of {n_train} training images leaves {n_val} for "
                    f"validation and {n_train - n_val} for training; both need at least one. Use a larger dataset "
                    "or a val_fraction that leaves images on both sides."
                )
            train, indices["val"] = permutation[n_val:], ("train", permutation[:n_val].sort().values)
        if self.hparams.limit_train_samples is not None:
            train = train[: self.hparams.limit_train_samples]
        indices["train"] = ("train", train.sort().values)
        return indices

    def _hidden_labels(self, train: InMemoryImages) -> torch.Tensor:
        """Which training labels to hide: all but `labeled_fraction` of each class (at least one per class), chosen
        with `seed`, so even a small labelled set covers every class."""
        hidden = torch.zeros(len(train), dtype=torch.bool)
        fraction = self.hparams.labeled_fraction
        if fraction >= 1:
            return hidden
        generator = self._generator(offset=1)
        for label in train.labels.unique():
            members = torch.nonzero(train.labels == label).flatten()
            keep = max(1, round(len(members) * fraction))
            hidden[members[torch.randperm(len(members), generator=generator)[keep:]]] = True
        return hidden

    def _generator(self, offset: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(self.hparams.seed + offset)

    def _require_setup(self, caller: str) -> None:
        if not self._in_memory:
            raise DataError(f"{type(self).__name__}.{caller} was called before setup(); call datamodule.setup() "
                            "first.")

    def _dataloader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        self._require_setup(f"{split}_dataloader")
        dataset = self._loader_datasets[split]
        if not shuffle and self._ordered_train is not None and split == "train":
            dataset = self._ordered_train
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
