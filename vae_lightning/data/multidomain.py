"""Several MNIST-family datasets in one model (`data=multidomain`), each image tagged with its domain.

`label: class` keeps each domain's classes apart (MNIST's "3" and FashionMNIST's "Dress" are different classes);
`label: domain` makes the domain the label, so `model=cvae` generates in a chosen domain and a classifier head
predicts it. With `balance: true` every domain contributes as many training (and test) images as the smallest one,
chosen with `seed`, so no domain dominates the loss.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from vae_lightning.data.base import InMemoryDataModule, InMemoryImages, concatenate
from vae_lightning.data.datamodule import MNIST_FAMILY_RULES, read_official_splits, resolve_cache_dir
from vae_lightning.data.sources import DATASETS, locate_dataset

LABELS = ("class", "domain")


class MultiDomainDataModule(InMemoryDataModule):
    """The union of `domains` (names of MNIST-family datasets), with domain indices in the order given."""

    config_rules = {
        "name": (lambda v: isinstance(v, str) and v != "", "a non-empty name for the run directory"),
        "domains": (
            lambda v: isinstance(v, list | tuple) and len(v) >= 2 and len(set(v)) == len(v)
            and all(d in DATASETS for d in v),
            f"a list of two or more different datasets from {', '.join(DATASETS)}",
        ),
        "label": (lambda v: v in LABELS, f"one of {', '.join(LABELS)}"),
        "balance": (lambda v: isinstance(v, bool), "true or false"),
        **MNIST_FAMILY_RULES,
    }

    def __init__(
        self,
        name: str = "multidomain",
        domains: Sequence[str] = ("mnist", "fashion"),
        label: str = "class",
        balance: bool = True,
        root: str = "data",
        download: bool = True,
        cache_dir: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.specs = [DATASETS[domain] for domain in domains]
        self.root = Path(root).expanduser().resolve()
        self.cache_dir = resolve_cache_dir(cache_dir)

    @property
    def domain_names(self) -> tuple[str, ...]:
        return tuple(self.hparams.domains)

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.hparams.label == "domain":
            return self.domain_names
        return tuple(f"{spec.name}:{name}" for spec in self.specs for name in spec.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.specs[0].image_shape

    def prepare_data(self) -> None:
        for spec in self.specs:
            locate_dataset(spec, self.root, self.cache_dir, self.hparams.download)

    def load_splits(self) -> dict[str, InMemoryImages]:
        per_domain = [read_official_splits(spec, locate_dataset(spec, self.root, self.cache_dir,
                                                                self.hparams.download)) for spec in self.specs]
        splits = {}
        for split in ("train", "test"):
            size = min(len(domain[split]) for domain in per_domain) if self.hparams.balance else None
            splits[split] = concatenate([self._tagged(domain[split], index, size)
                                         for index, domain in enumerate(per_domain)])
        return splits

    def _tagged(self, images: InMemoryImages, domain: int, size: int | None) -> InMemoryImages:
        """One domain's split: at most `size` images chosen with `seed`, labelled per `label`, tagged `domain`."""
        if size is not None and size < len(images):
            generator = torch.Generator().manual_seed(self.hparams.seed + domain)
            images = images.subset(torch.randperm(len(images), generator=generator)[:size].sort().values)
        offset = sum(len(spec.class_names) for spec in self.specs[:domain])
        domains = torch.full_like(images.labels, domain)
        labels = domains if self.hparams.label == "domain" else images.labels + offset
        return InMemoryImages(images.images, labels, domains)
