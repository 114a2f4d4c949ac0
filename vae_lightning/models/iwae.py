"""The importance-weighted autoencoder (`model=iwae`, Burda et al. 2016): the VAE network trained on the K-sample
bound log (1/K) Σ_k p(x, z_k) / q(z_k | x), which is tighter than the ELBO for K > 1 and equals it for K = 1.

It has no β and no KL schedule: its objective weighs nothing. The ELBO's terms are logged beside the bound, the
reconstruction term averaged over the same K draws, so the gap between `neg_elbo` and `loss` shows what the extra
samples buy.
"""

from typing import Any, ClassVar

import torch
from torch import Tensor

from vae_lightning.models.contract import require
from vae_lightning.models.importance_weights import draw_densities, log_mean_exp
from vae_lightning.models.objectives import gaussian_kl_per_dim
from vae_lightning.models.vae import VAE, ELBOParts


class IWAE(VAE):
    """Logs `loss` = −log p̂_K(x) (nats/image) beside `recon`, `kl`, `neg_elbo` and `kl_per_dim`."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **VAE.term_descriptions,
        "loss": "negative IWAE bound −log p̂_K(x) with the model's K draws per image (nats/image)",
        "recon": "reconstruction term −log p(x|z), mean over the K draws (nats/image)",
    }

    def __init__(self, k: int = 5, **vae_settings: Any) -> None:
        require(k >= 1, "model.k", k, "the number of importance samples must be an integer ≥ 1")
        self.keep_settings(k=k)
        super().__init__(**vae_settings)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        condition = self.condition(labels)
        mu, log_var = self.vae.encoder(x, condition)
        eps = torch.randn((self.hparams.k, *mu.shape), device=mu.device, dtype=mu.dtype)
        densities = draw_densities(self, mu, log_var, eps, self.likelihood.model_target(x), condition)
        parts = ELBOParts.closed_form(-densities.log_px_given_z.mean(0), gaussian_kl_per_dim(mu, log_var))
        terms = self.elbo_terms(parts, x)
        return {"loss": -log_mean_exp(densities.log_weights).mean(), **terms}
