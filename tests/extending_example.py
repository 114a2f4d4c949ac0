"""A model and a dataset defined outside the package, as docs/extending.md builds them: the test of the seams."""

from typing import Any, ClassVar

import torch
from torch import Tensor

from vae_lightning.data import InMemoryDataModule, InMemoryImages
from vae_lightning.models import VAELitModule


class FreeBitsVAE(VAELitModule):
    """β-VAE with free bits (Kingma et al. 2016): each latent dimension's KL counts as at least `free_bits` nats, so
    the optimiser gains nothing by pushing a dimension below it, which keeps dimensions from collapsing early."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **VAELitModule.term_descriptions,
        "free_bits_kl": "KL with every dimension held at ≥ λ nats (nats/image)",
    }

    def __init__(self, free_bits: float = 0.5, **vae_settings: Any) -> None:
        super().__init__(**vae_settings)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        terms = self.vae_terms(self(x, labels), x, step)
        terms["free_bits_kl"] = terms["kl_per_dim"].clamp(min=self.hparams.free_bits).sum()
        terms["loss"] = terms["recon"] + self.hparams.beta * terms["free_bits_kl"]
        return terms


class BarsDataModule(InMemoryDataModule):
    """16×16 images of one bright horizontal bar; the label is the bar's row (8 classes), plus seeded noise."""

    ROWS = 8

    def __init__(self, name: str = "bars", num_train: int = 256, num_test: int = 64, **common: Any) -> None:
        super().__init__(**common)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(f"row {row}" for row in range(self.ROWS))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return 1, 16, 16

    def load_splits(self) -> dict[str, InMemoryImages]:
        generator = torch.Generator().manual_seed(self.hparams.seed)
        splits = {}
        for split, count in (("train", self.hparams.num_train), ("test", self.hparams.num_test)):
            labels = torch.randint(self.ROWS, (count,), generator=generator)
            images = torch.randint(0, 40, (count, 1, 16, 16), generator=generator, dtype=torch.uint8)
            for image, row in zip(images, labels.tolist(), strict=True):
                image[0, 2 * row : 2 * row + 2, 2:14] = 255
            splits[split] = InMemoryImages(images, labels)
        return splits
