"""DCGAN (`model=dcgan`, Radford et al. 2016): a convolutional GAN trained with the non-saturating loss of
Goodfellow et al. 2014, the generator's and the discriminator's losses stepped one after the other on every batch.

Both players train with the run's `optimizer` node, which conf/model/dcgan.yaml sets to the paper's Adam (lr 2e-4,
β1 = 0.5). The data's [0, 1] pixels are scaled to the generator's tanh range [-1, 1] inside the model, so samples
come back in [0, 1] like every other model's. A GAN has no likelihood and no ELBO: its terms are the players'
cross-entropies, which say how the game stands, not how good the samples are.
"""

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from vae_lightning.models.contract import GenerativeModel, OptimisedLoss, in_batches, require
from vae_lightning.models.nets.dcgan import Discriminator, Generator

SAMPLE_BATCH = 1000


def to_model_range(x: Tensor) -> Tensor:
    """Pixels in [0, 1] → [-1, 1], the range of a tanh output."""
    return 2 * x - 1


def to_data_range(x: Tensor) -> Tensor:
    return (x + 1) / 2


class DCGAN(GenerativeModel):
    """Generator G(z), z ~ N(0, I) of `latent_dim`, and discriminator D(x), both with widths from `width`."""

    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape",)
    term_descriptions: ClassVar[dict[str, str]] = {
        "loss": "generator loss −log D(G(z)), non-saturating (nats per image)",
        "discriminator_loss": "discriminator cross-entropy on a real and a generated batch (nats; 2 ln 2 at chance)",
        "real_probability": "D(x): the discriminator's mean probability that a real image is real",
        "fake_probability": "D(G(z)): its mean probability that a generated image is real",
    }

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 100, width: int = 32) -> None:
        require(latent_dim >= 1, "model.latent_dim", latent_dim, "the noise vector needs at least 1 dimension")
        require(width >= 1, "model.width", width, "the widths double from it; it must be ≥ 1 (the paper: 128)")
        super().__init__()
        self.keep_settings(image_shape=list(image_shape), latent_dim=latent_dim, width=width)
        self.generator = Generator(latent_dim, image_shape, width)
        self.discriminator = Discriminator(image_shape, width)

    def generate(self, z: Tensor) -> Tensor:
        """G(z) in the model's range [-1, 1]."""
        return self.generator(z)

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Images in [0, 1] for z ~ N(0, I) drawn from `generator` (on the CPU, so a seed gives the same images on
        every device); the batch-norm layers use what the caller's mode says (evaluation: running statistics)."""
        def draw(size: int) -> Tensor:
            z = torch.randn(size, self.hparams.latent_dim, generator=generator).to(self.device)
            return to_data_range(self.generate(z))
        return in_batches(num_samples, SAMPLE_BATCH, draw)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        real = to_model_range(x)
        fake = self.generate(torch.randn(len(x), self.hparams.latent_dim, device=x.device))
        # Real and generated images pass the discriminator as separate batches, each normalised on its own (the
        # paper's practice); the generated ones detached, so this loss trains only the discriminator.
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())
        discriminator_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        fooled = self.discriminator(fake)
        return {
            "loss": F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled)),
            "discriminator_loss": discriminator_loss,
            "real_probability": torch.sigmoid(real_logits).mean().detach(),
            "fake_probability": torch.sigmoid(fake_logits).mean().detach(),
        }

    def optimised_losses(self) -> list[OptimisedLoss]:
        """The generator's loss, then the discriminator's, both with the run's optimiser."""
        return [OptimisedLoss("loss", list(self.generator.parameters())),
                OptimisedLoss("discriminator_loss", list(self.discriminator.parameters()))]
