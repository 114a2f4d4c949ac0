"""β-TCVAE (`model=beta_tcvae`, Chen et al. 2018): the KL term split into index-code MI, total correlation and
dimension-wise KL, with β weighting only the total correlation.

loss = −log p(x|z) + α·MI + β·TC + γ·dimension-wise KL, estimated per minibatch (see `total_correlation`). The
aggregate posterior q(z) is taken over the training split, whose size the model records when fitting starts, so a
restored model evaluates with the same N.
"""

from typing import Any, ClassVar

import torch
from torch import Tensor

from vae_lightning.errors import ConfigError
from vae_lightning.models.contract import require
from vae_lightning.models.total_correlation import TC_ESTIMATORS, decompose_kl
from vae_lightning.models.vae import VAE


class BetaTCVAE(VAE):
    """Logs `mutual_info`, `total_correlation`, `dimwise_kl` (nats/image) and `dimwise_kl_per_dim` beside the ELBO."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **VAE.term_descriptions,
        "loss": "recon + α·MI + β·TC + γ·dimension-wise KL (nats/image)",
        "mutual_info": "index-code MI I(x; z), minibatch estimate (nats/image)",
        "total_correlation": "total correlation KL(q(z) ‖ Π q(z_d)), minibatch estimate (nats/image)",
        "dimwise_kl": "dimension-wise KL Σ KL(q(z_d) ‖ p(z_d)), minibatch estimate (nats/image)",
        "dimwise_kl_per_dim": "dimension-wise KL per latent dimension (nats/image)",
    }

    def __init__(self, beta: float = 6.0, alpha: float = 1.0, gamma: float = 1.0, tc_estimator: str = "mss",
                 **vae_settings: Any) -> None:
        require(beta >= 0, "model.beta", beta, "the weight of the total correlation must be ≥ 0")
        require(alpha >= 0, "model.alpha", alpha, "the weight of the index-code MI must be ≥ 0")
        require(gamma >= 0, "model.gamma", gamma, "the weight of the dimension-wise KL must be ≥ 0")
        require(tc_estimator in TC_ESTIMATORS, "model.tc_estimator", tc_estimator,
                "use 'mss' (minibatch-stratified sampling, recommended by Chen et al. 2018) or 'mws' "
                "(minibatch-weighted sampling)")
        self.keep_settings(beta=beta, alpha=alpha, gamma=gamma, tc_estimator=tc_estimator)
        super().__init__(**vae_settings)
        # N, the number of training images q(z) is averaged over; set when fitting starts, saved with the weights.
        self.register_buffer("dataset_size", torch.tensor(0, dtype=torch.long))

    def fit_to_data(self, num_training_images: int) -> None:
        self.dataset_size.fill_(num_training_images)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        if self.dataset_size.item() == 0:
            raise ConfigError("This β-TCVAE has not been fitted, so the number of training images N for its "
                              "aggregate posterior is unknown; train it with vae_lightning.train first.")
        out = self(x, labels)
        terms = self.elbo_terms(self.elbo_parts(out, x), x)
        parts = decompose_kl(out.z, out.mu, out.log_var, max(int(self.dataset_size), len(x)),
                             self.hparams.tc_estimator)
        h = self.hparams
        terms["mutual_info"] = parts.mutual_info.mean()
        terms["total_correlation"] = parts.total_correlation.mean()
        terms["dimwise_kl"] = parts.dimwise_kl.mean()
        terms["dimwise_kl_per_dim"] = parts.dimwise_kl_per_dim
        terms["loss"] = (terms["recon"] + h.alpha * terms["mutual_info"] + h.beta * terms["total_correlation"]
                         + h.gamma * terms["dimwise_kl"])
        return terms
