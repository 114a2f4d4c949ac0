"""The VampPrior VAE (`model=vamp`, Tomczak & Welling 2018): the prior is the uniform mixture of the encoder's own
posteriors at K learned pseudo-inputs u_k, p(z) = (1/K) Σ_k q(z | u_k), so the prior moves with the encoder towards
the aggregate posterior.

The pseudo-inputs are images of the data's shape, learned through a hard tanh onto [0, 1] (the data's range) and
initialised near 0.05 with spread 0.01, as in the authors' code for MNIST. The KL to a mixture has no closed form:
the objective uses the single-sample Monte Carlo estimate log q(z|x) − log p(z) at the reparameterised draw that the
reconstruction term uses, and β and the KL schedules of the β-VAE apply to it (the paper warmed β up from 0).
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from vae_lightning.models.beta_vae import BetaVAE
from vae_lightning.models.contract import require
from vae_lightning.models.nets.conv_vae import VAEOutput
from vae_lightning.models.vae import LOG_2PI, ELBOParts

PSEUDO_INPUT_INIT_MEAN = 0.05
PSEUDO_INPUT_INIT_STD = 0.01
# Codes × components (× dimensions, for the per-dimension density) per chunk of the mixture's density: bounds memory
# when the analysis scores thousands of draws against hundreds of components at once.
MAX_CHUNK_ELEMENTS = 1 << 22


def gaussian_log_density_per_dim(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z_d; μ_d, σ_d²) for each dimension, broadcasting z against μ and log σ²."""
    return -0.5 * ((z - mu).pow(2) * torch.exp(-log_var) + log_var + LOG_2PI)


def mixture_log_density(z: Tensor, mu: Tensor, log_var: Tensor, per_dim: bool = False) -> Tensor:
    """log (1/K) Σ_k N(z; μ_k, diag σ_k²) for codes z (..., D) and K components μ, log σ² (K, D), by logsumexp;
    with `per_dim`, the density of each dimension under the mixture's marginal in that dimension, (..., D)."""
    flat = z.reshape(-1, z.shape[-1])
    if per_dim:
        rows = max(1, MAX_CHUNK_ELEMENTS // mu.numel())
        chunks = [gaussian_log_density_per_dim(chunk[:, None, :], mu, log_var).logsumexp(1)  # (N, K, D) → (N, D)
                  for chunk in flat.split(rows)]
    else:
        rows = max(1, MAX_CHUNK_ELEMENTS // len(mu))
        chunks = [_component_log_densities(chunk, mu, log_var).logsumexp(1).to(z.dtype) for chunk in flat.split(rows)]
    return (torch.cat(chunks) - math.log(len(mu))).reshape(z.shape if per_dim else z.shape[:-1])


def _component_log_densities(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z_n; μ_k, diag σ_k²) for codes (N, D) and components (K, D), (N, K) in float64, with the squared
    distances as one matrix product: Σ_d (z_d − μ_kd)²/σ_kd² = [z², z] · [1/σ_k², −2 μ_k/σ_k²] + Σ_d μ_kd²/σ_kd².
    The elementwise (N, K, D) form made the IWAE bound, which scores millions of draws against 500 components, take
    1.94× its time under N(0, I); this takes 1.06× (benchmarks/prior_cost.py). The expansion subtracts terms as large
    as μ²/σ², so it runs in float64 (float32 is off by up to 0.08 nats for components with σ = 0.02,
    tests/unit/models/test_vamp.py) and outside autocast, which would round it to bfloat16."""
    with torch.autocast(z.device.type, enabled=False):
        z, mu, log_var = z.double(), mu.double(), log_var.double()
        precision = torch.exp(-log_var)
        squared_distance = (torch.cat([z.pow(2), z], 1) @ torch.cat([precision, -2 * mu * precision], 1).T
                            + (mu.pow(2) * precision).sum(1))
        return -0.5 * (squared_distance + log_var.sum(1) + z.shape[1] * LOG_2PI)


class VampPrior(BetaVAE):
    """Logs `loss`, `recon`, `kl` (a single-sample estimate), `neg_elbo` (nats/image) and `kl_per_dim` against the
    prior's marginal in each dimension."""

    term_descriptions: ClassVar[dict[str, str]] = {
        **BetaVAE.term_descriptions,
        "kl": "single-sample Monte Carlo estimate log q(z|x) − log p(z) of KL(q(z|x) ‖ p(z)) under the VampPrior, "
              "which has no closed form (nats/image)",
        "neg_elbo": "negative ELBO with the single-sample KL estimate (nats/image)",
        "kl_per_dim": "log q(z_d|x) − log p(z_d) per latent dimension against the prior's marginal in that dimension "
                      "(single-sample estimate, nats/image): the mixture prior does not factorise, so these do not "
                      "sum to `kl`; they rank the dimensions by how far their codes move from the prior",
    }

    def __init__(self, num_pseudo_inputs: int = 500, **beta_vae_settings: Any) -> None:
        require(num_pseudo_inputs >= 1, "model.num_pseudo_inputs", num_pseudo_inputs,
                "the VampPrior needs at least one pseudo-input (Tomczak & Welling 2018 used 500)")
        self.keep_settings(num_pseudo_inputs=num_pseudo_inputs)
        super().__init__(**beta_vae_settings)
        shape = (num_pseudo_inputs, *self.hparams.image_shape)
        self.pseudo_input_params = nn.Parameter(torch.randn(shape) * PSEUDO_INPUT_INIT_STD + PSEUDO_INPUT_INIT_MEAN)
        self._fixed_components: tuple[Tensor, Tensor] | None = None

    def pseudo_inputs(self) -> Tensor:
        """The K learned pseudo-inputs u_k as images in [0, 1]."""
        return nn.functional.hardtanh(self.pseudo_input_params, 0.0, 1.0)

    def prior_components(self) -> tuple[Tensor, Tensor]:
        """μ and log σ² (K, D) of q(z | u_k), the mixture's components."""
        if self._fixed_components is not None:
            return self._fixed_components
        return self.vae.encoder(self.pseudo_inputs(), None)

    @contextmanager
    def fixed_prior(self) -> Iterator[None]:
        """The pseudo-inputs encoded once for the block: the IWAE bound calls `log_prior` for every chunk of draws,
        and encoding the 500 pseudo-inputs each time cost as much as decoding the draws (1,654 s against 630 s for
        the same bound of a VAE of the same size, K = 1000 on 10,000 MNIST images)."""
        self._fixed_components = self.prior_components()
        try:
            yield
        finally:
            self._fixed_components = None

    def log_prior(self, z: Tensor) -> Tensor:
        return mixture_log_density(z, *self.prior_components())

    @torch.no_grad()
    def prior_sample(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Draws from the mixture: a pseudo-input chosen uniformly, then z ~ q(z | u_k)."""
        mu, log_var = self.prior_components()
        component = torch.randint(len(mu), (num_samples,), generator=generator).to(mu.device)
        eps = torch.randn(num_samples, mu.shape[1], generator=generator).to(mu)
        return mu[component] + (0.5 * log_var[component]).exp() * eps

    def elbo_parts(self, out: VAEOutput, x: Tensor) -> ELBOParts:
        recon = self.likelihood.neg_log_likelihood(out.decoder_output, self.likelihood.model_target(x))
        log_q_per_dim = gaussian_log_density_per_dim(out.z, out.mu, out.log_var)
        prior_mu, prior_log_var = self.prior_components()
        kl = log_q_per_dim.sum(1) - mixture_log_density(out.z, prior_mu, prior_log_var)
        kl_per_dim = log_q_per_dim - mixture_log_density(out.z, prior_mu, prior_log_var, per_dim=True)
        return ELBOParts(recon, kl, kl_per_dim)
