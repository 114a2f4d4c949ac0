"""Two models (a VAE and a GAN) and a dataset defined outside the package, as docs/extending.md builds them:
the test of the seams."""

import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_lightning.data import InMemoryDataModule, InMemoryImages
from vae_lightning.models import BetaVAE, GenerativeModel, OptimisedLoss


class FreeBitsVAE(BetaVAE):
    """β-VAE with free bits (Kingma et al. 2016): each latent dimension's KL counts as at least `free_bits` nats, so
    the optimiser gains nothing by pushing a dimension below it, which keeps dimensions from collapsing early."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **BetaVAE.term_descriptions,
        "free_bits_kl": "KL with every dimension held at ≥ λ nats (nats/image)",
    }

    def __init__(self, free_bits: float = 0.5, **vae_settings: Any) -> None:
        self.keep_settings(free_bits=free_bits)
        super().__init__(**vae_settings)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        terms = self.beta_vae_terms(self(x, labels), x, step)
        terms["free_bits_kl"] = terms["kl_per_dim"].clamp(min=self.hparams.free_bits).sum()
        terms["loss"] = terms["recon"] + self.hparams.beta * terms["free_bits_kl"]
        return terms


class TinyGAN(GenerativeModel):
    """A two-layer GAN (Goodfellow et al. 2014, non-saturating generator loss): a model with no encoder and two
    optimised losses, each with its own optimiser, on the same contract as the VAEs."""

    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape",)
    term_descriptions: ClassVar[dict[str, str]] = {
        "loss": "generator loss −log D(G(z)) (nats per image)",
        "discriminator_loss": "discriminator cross-entropy, real vs generated (nats; 2 ln 2 at chance)",
    }

    def __init__(self, image_shape: Sequence[int] = (1, 16, 16), noise_dim: int = 16, hidden: int = 128,
                 discriminator_lr: float = 2e-4) -> None:
        super().__init__()
        self.keep_settings(image_shape=list(image_shape), noise_dim=noise_dim, hidden=hidden,
                           discriminator_lr=discriminator_lr)
        pixels = math.prod(image_shape)
        self.generator = nn.Sequential(nn.Linear(noise_dim, hidden), nn.ReLU(), nn.Linear(hidden, pixels))
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden), nn.LeakyReLU(0.2),
                                           nn.Linear(hidden, 1), nn.Flatten(0))

    def generate(self, noise: Tensor) -> Tensor:
        return torch.sigmoid(self.generator(noise)).view(-1, *self.hparams.image_shape)

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        return self.generate(torch.randn(num_samples, self.hparams.noise_dim, generator=generator).to(self.device))

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        fake = self.generate(torch.randn(len(x), self.hparams.noise_dim, device=x.device))
        real_logits, fake_logits = self.discriminator(x), self.discriminator(fake.detach())
        discriminator_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        fooled = self.discriminator(fake)
        return {"loss": F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled)),
                "discriminator_loss": discriminator_loss}

    def optimised_losses(self) -> list[OptimisedLoss]:
        discriminator_optimizer = functools.partial(torch.optim.Adam, lr=self.hparams.discriminator_lr,
                                                    betas=(0.5, 0.999))
        return [OptimisedLoss("loss", list(self.generator.parameters())),
                OptimisedLoss("discriminator_loss", list(self.discriminator.parameters()), discriminator_optimizer)]


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
