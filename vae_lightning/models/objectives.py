"""The KL term of the β-VAE objective in nats per image; the reconstruction term is the decoder likelihood's
(`likelihoods.py`).

Terms are summed over pixels and latent dimensions and averaged over the batch, so `beta` is the β of Higgins et al.
(2017) and β = 1 gives the negative ELBO, in nats per image.
"""

from torch import Tensor


def gaussian_kl_per_dim(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per image and latent dimension, in closed form: ½(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)
