"""Several MNIST-family datasets in one model (`data=multidomain`), each image tagged with its domain.

`label: class` keeps each domain's classes apart (MNIST's "3" and FashionMNIST's "Dress" are different classes);
`label: domain` makes the domain the label, so `model=cvae` generates in a chosen domain and a classifier head
predicts it. With `balance: true` every domain contributes as many training (and test) images as the smallest one,
chosen with `seed`, so no domain dominates the loss.
"""

from collections.abc import Sequence
from typing import Any

import torch

from vae_lightning.data.base import NAME_RULE, InMemoryDataModule, InMemoryImages, concatenate
from vae_lightning.data.mnist_family import MNIST_FAMILY_RULES, MNISTFamilyDataModule
from vae_lightning.data.sources import DATASETS

LABELS = ("class", "domain")


class MultiDomainDataModule(InMemoryDataModule):
    """The union of `domains` (names of MNIST-family datasets), with domain indices in the order given."""

    config_rules = {
        "name": NAME_RULE,
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
        # One single-dataset module per domain finds (and validates) its files once and reads its official splits.
        self.sources = [MNISTFamilyDataModule(domain, root=root, download=download, cache_dir=cache_dir)
                        for domain in domains]

    @property
    def domain_names(self) -> tuple[str, ...]:
        return tuple(self.hparams.domains)

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.hparams.label == "domain":
            return self.domain_names
        return tuple(f"{source.hparams.name}:{name}" for source in self.sources for name in source.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.sources[0].image_shape

    def prepare_data(self) -> None:
        for source in self.sources:
            source.prepare_data()

    def load_splits(self) -> dict[str, InMemoryImages]:
        per_domain = [source.load_splits() for source in self.sources]
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
        offset = sum(len(source.class_names) for source in self.sources[:domain])
        domains = torch.full_like(images.labels, domain)
        labels = domains if self.hparams.label == "domain" else images.labels + offset
        return InMemoryImages(images.images, labels, domains)
