"""Log importance weights log w = log p(x|z) + log p(z) − log q(z|x) of reparameterised draws z = μ + σ·ε: what the
IWAE objective trains on and what the analysis's IWAE bound evaluates (Burda et al. 2016)."""

import math
from typing import NamedTuple

from torch import Tensor

from vae_lightning.models.vae import LOG_2PI, VAE


class DrawDensities(NamedTuple):
    log_px_given_z: Tensor  # (K, B)
    log_pz: Tensor  # (K, B)
    log_qz: Tensor  # (K, B)

    @property
    def log_weights(self) -> Tensor:
        return self.log_px_given_z + self.log_pz - self.log_qz


def draw_densities(model: VAE, mu: Tensor, log_var: Tensor, eps: Tensor, target: Tensor,
                   condition: Tensor | None) -> DrawDensities:
    """The densities of K draws per image: `eps` (K, B, D) standard-normal noise, `mu` and `log_var` (B, D) of
    q(z|x), `target` (B, C, H, W) what the likelihood scores (x, or x dequantised), shared by an image's draws."""
    num_draws, batch = eps.shape[:2]
    z = mu + (0.5 * log_var).exp() * eps
    # log q(z|x) with z − μ = σ·ε, and log p(z) under the model's own prior, both summed over dimensions.
    log_qz = -0.5 * (eps.pow(2) + log_var + LOG_2PI).sum(-1)
    log_pz = model.log_prior(z)
    decoded = model.vae.decoder(z.flatten(0, 1), condition.repeat(num_draws, 1) if condition is not None else None)
    targets = target.expand(num_draws, *target.shape).flatten(0, 1)
    log_px_given_z = -model.likelihood.neg_log_likelihood(decoded, targets).view(num_draws, batch)
    return DrawDensities(log_px_given_z, log_pz, log_qz)


def log_mean_exp(log_weights: Tensor) -> Tensor:
    """log (1/K) Σ_k exp(log w_k) over the first dimension, stably."""
    return log_weights.logsumexp(dim=0) - math.log(len(log_weights))
