"""FactorVAE (`model=factor_vae`, Kim & Mnih 2018): the negative ELBO plus γ times a discriminator's estimate of the
total correlation, the discriminator trained alongside with its own optimiser.

Two losses are optimised on every batch, the VAE's `loss` and then `discriminator_loss`, both returned by the same
`objective`: the engine steps the VAE's optimiser (the run's `optimizer`) and then the discriminator's (the paper's
Adam with β1 = 0.5, β2 = 0.9). The permuted codes come from the same batch as the joint ones (each dimension shuffled
across it).
"""

import functools
from typing import Any, ClassVar

import torch
from torch import Tensor

from vae_lightning.models.beta_vae import BetaVAE
from vae_lightning.models.contract import OptimisedLoss, require
from vae_lightning.models.nets.factor_discriminator import (
    FactorDiscriminator,
    discriminator_loss,
    permute_dims,
    tc_estimate,
)

# The paper's discriminator optimiser: Adam with β1 = 0.5, β2 = 0.9.
DISCRIMINATOR_BETAS = (0.5, 0.9)


class FactorVAE(BetaVAE):
    """Logs `total_correlation` (the discriminator's estimate, nats/image) and `discriminator_loss` (nats)."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **BetaVAE.term_descriptions,
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
        self.keep_settings(gamma=gamma, discriminator_lr=discriminator_lr, discriminator_hidden=discriminator_hidden,
                           discriminator_layers=discriminator_layers)
        super().__init__(**vae_settings)
        self.discriminator = FactorDiscriminator(self.hparams.latent_dim, discriminator_hidden, discriminator_layers)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        out = self(x, labels)
        terms = self.beta_vae_terms(out, x, step)
        terms["total_correlation"] = tc_estimate(self.discriminator(out.z)).mean()
        terms["loss"] = terms["loss"] + self.hparams.gamma * terms["total_correlation"]
        joint = out.z.detach()
        terms["discriminator_loss"] = discriminator_loss(self.discriminator(joint),
                                                         self.discriminator(permute_dims(joint)))
        return terms

    def optimised_losses(self) -> list[OptimisedLoss]:
        vae_parameters = [p for name, p in self.named_parameters() if not name.startswith("discriminator.")]
        discriminator_optimizer = functools.partial(torch.optim.Adam, lr=self.hparams.discriminator_lr,
                                                    betas=DISCRIMINATOR_BETAS)
        return [OptimisedLoss("loss", vae_parameters),
                OptimisedLoss("discriminator_loss", list(self.discriminator.parameters()), discriminator_optimizer)]
