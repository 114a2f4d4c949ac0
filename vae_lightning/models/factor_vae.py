"""FactorVAE (`model=factor_vae`, Kim & Mnih 2018): the negative ELBO plus γ times a discriminator's estimate of the
total correlation, the discriminator trained alongside with its own optimiser.

Two optimisers step on every batch, so the model uses Lightning's manual optimisation: the VAE's step on
`loss`, then the discriminator's on `discriminator_loss`, both returned by the same `objective`. The permuted codes
come from the same batch as the joint ones (each dimension shuffled across it).
"""

from typing import Any, ClassVar

import torch
from torch import Tensor

from vae_lightning.models.nets.factor_discriminator import (
    FactorDiscriminator,
    discriminator_loss,
    permute_dims,
    tc_estimate,
)
from vae_lightning.models.vae import OPTIMIZERS, VAELitModule, require

# The paper's discriminator optimiser: Adam with β1 = 0.5, β2 = 0.9.
DISCRIMINATOR_BETAS = (0.5, 0.9)
# Two optimiser steps per batch: Lightning's global step counts both.
STEPS_PER_BATCH = 2


class FactorVAELitModule(VAELitModule):
    """Logs `total_correlation` (the discriminator's estimate, nats/image) and `discriminator_loss` (nats)."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **VAELitModule.term_descriptions,
        "loss": "recon + β·KL + γ·TC (nats/image)",
        "total_correlation": "total correlation, the discriminator's density-ratio estimate (nats/image)",
        "discriminator_loss": "discriminator cross-entropy, joint vs permuted codes (nats; ln 2 = chance)",
    }

    def __init__(self, gamma: float = 10.0, discriminator_lr: float = 1e-4, discriminator_hidden: int = 1000,
                 discriminator_layers: int = 6, **vae_settings: Any) -> None:
        require(gamma >= 0, "model.gamma", gamma, "the weight of the total correlation must be ≥ 0")
        require(discriminator_lr > 0, "model.discriminator_lr", discriminator_lr, "the learning rate must be > 0")
        require(discriminator_hidden >= 1 and discriminator_layers >= 1, "model.discriminator_hidden/layers",
                (discriminator_hidden, discriminator_layers), "both must be ≥ 1 (the paper: 1000 units, 6 layers)")
        super().__init__(**vae_settings)
        self.discriminator = FactorDiscriminator(self.hparams.latent_dim, discriminator_hidden, discriminator_layers)
        self.automatic_optimization = False

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        out = self(x, labels)
        terms = self.vae_terms(out, x, step)
        terms["total_correlation"] = tc_estimate(self.discriminator(out.z)).mean()
        terms["loss"] = terms["loss"] + self.hparams.gamma * terms["total_correlation"]
        joint = out.z.detach()
        terms["discriminator_loss"] = discriminator_loss(self.discriminator(joint),
                                                         self.discriminator(permute_dims(joint)))
        return terms

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        vae_optimizer, discriminator_optimizer = self.optimizers()
        x, labels = batch
        step = self.global_step // STEPS_PER_BATCH
        terms = self.objective(x, labels, step)
        vae_optimizer.zero_grad(set_to_none=True)
        self.manual_backward(terms["loss"])
        vae_optimizer.step()
        discriminator_optimizer.zero_grad(set_to_none=True)  # drops what the VAE's loss left on the discriminator
        self.manual_backward(terms["discriminator_loss"])
        discriminator_optimizer.step()
        self._log_training_terms(terms, len(x), step)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        h = self.hparams
        vae_parameters = [p for name, p in self.named_parameters() if not name.startswith("discriminator.")]
        return [OPTIMIZERS[h.optimizer](vae_parameters, lr=h.lr, weight_decay=h.weight_decay),
                torch.optim.Adam(self.discriminator.parameters(), lr=h.discriminator_lr, betas=DISCRIMINATOR_BETAS)]
