"""The β-VAE objective in nats per image, kept apart from the architecture so a new objective is a new function.

Terms are summed over pixels and latent dimensions and averaged over the batch, so `beta` is the β of Higgins et al.
(2017): β = 1 is the ELBO, and the reported numbers are comparable with papers that report nats per image.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_lightning.errors import ConfigError


def gaussian_kl_per_dim(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per image and latent dimension, in closed form: ½(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)


class BernoulliLikelihood(nn.Module):
    """p(x | z) = Bernoulli(sigmoid(logits)) per pixel; the usual choice for greyscale images in [0, 1]."""

    def neg_log_likelihood(self, logits: Tensor, x: Tensor) -> Tensor:
        """−log p(x | z) per image, summed over pixels (nats)."""
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    def mean(self, logits: Tensor) -> Tensor:
        return torch.sigmoid(logits)


class GaussianLikelihood(nn.Module):
    """p(x | z) = N(sigmoid(logits), σ²) per pixel, with σ fixed or learned (one scalar shared by all pixels)."""

    # A learned σ collapsing to 0 would send −log p to −inf on pixels the decoder fits exactly.
    MIN_LOG_SIGMA = math.log(1e-3)

    def __init__(self, sigma: float = 0.1, learn_sigma: bool = False) -> None:
        super().__init__()
        if sigma <= 0:
            raise ConfigError(f"model.gaussian_sigma={sigma} is not allowed: the Gaussian σ must be > 0 (e.g. 0.1).")
        log_sigma = torch.tensor(math.log(sigma))
        if learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    def neg_log_likelihood(self, logits: Tensor, x: Tensor) -> Tensor:
        """−log N(x; mean, σ²) per image, summed over pixels (nats)."""
        log_sigma = self.log_sigma.clamp(min=self.MIN_LOG_SIGMA)
        per_pixel = 0.5 * ((x - self.mean(logits)) / log_sigma.exp()).pow(2) + log_sigma + 0.5 * math.log(2 * math.pi)
        return per_pixel.flatten(1).sum(1)

    def mean(self, logits: Tensor) -> Tensor:
        return torch.sigmoid(logits)


def make_likelihood(name: str, gaussian_sigma: float, learn_sigma: bool) -> nn.Module:
    """The decoder's output distribution named by `model.likelihood`."""
    if name == "bernoulli":
        return BernoulliLikelihood()
    if name == "gaussian":
        return GaussianLikelihood(gaussian_sigma, learn_sigma)
    raise ConfigError(f"model.likelihood={name!r} is not known: use 'bernoulli' or 'gaussian'.")
