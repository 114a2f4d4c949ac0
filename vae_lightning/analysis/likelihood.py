"""The importance-weighted bound on log p(x) (Burda et al. 2016), the ELBO on the same draws, and their error bars.

With z_1..z_K ~ q(z|x) and weights w_k = p(x|z_k) p(z_k) / q(z_k|x), log p̂_K(x) = log (1/K) Σ_k w_k is, in
expectation, a lower bound on log p(x) that tightens monotonically towards it as K grows; (1/K) Σ_k log w_k is an
unbiased estimate of the ELBO, and by Jensen it never exceeds log p̂_K(x) computed from the same draws. Both are
−log p(x) (in nats) only when the decoder's −log p(x|z) is a likelihood of the data (see `models/likelihoods.py`).

Error bars. Each image's estimate carries Monte Carlo noise on top of the spread of the images. The spread over
images of the per-image estimates, sd/√N, estimates the standard error of their mean with both included (image
variance plus the mean MC variance). The MC part alone is estimated per image from the two halves of its K draws:
their two bounds L_a, L_b are independent, so (L_a − L_b)²/2 is an unbiased estimate of Var(log p̂_{K/2}), which we
report for Var(log p̂_K). That is conservative: more draws do not add variance, and with light-tailed weights the
variance halves with twice the draws (the delta method), so it overstates the s.e. by at most about √2. Estimates
from within one set of draws (the delta method's 1/ESS − 1/K, or the spread of ten group bounds / 10) understate it
by up to 4× when the weights are heavy-tailed, as they are for a poor q
(see tests/unit/analysis/test_analysis_metrics.py). Its root-mean over images, √(Σ σ²_MC) / N, is the error of the
mean over these fixed images, the part more draws would shrink. Neither error bar covers the bias of a finite K,
which is why `nested` reports the bound at smaller K on the same draws (the K-convergence check).
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from vae_lightning.analysis.progress import progress_bar
from vae_lightning.errors import ConfigError
from vae_lightning.models.importance_weights import draw_densities, log_mean_exp


class PairedDifference(NamedTuple):
    """The mean over images of a per-image difference, with its standard error over images."""

    mean: float
    standard_error: float


def paired_difference(a: Tensor, b: Tensor) -> PairedDifference:
    """mean(a − b) ± sd(a − b)/√N for per-image numbers of the same images: the differences share each image's
    difficulty, so this error bar is far smaller than that of two separate means (NaN for a single image)."""
    difference = (a - b).double()
    return PairedDifference(difference.mean().item(), standard_error_of_mean(difference))


def standard_error_of_mean(values: Tensor) -> float:
    """sd / √N of per-image numbers (NaN for a single image)."""
    values = values.double()
    return values.std().item() / math.sqrt(len(values)) if len(values) > 1 else math.nan


class IWAEResult(NamedTuple):
    """Per-image numbers from one set of K draws per image, in nats per image (N,)."""

    num_samples: int
    neg_log_likelihood_per_image: Tensor  # −log p̂_K(x): in expectation an upper bound on −log p(x)
    neg_elbo_per_image: Tensor  # −(1/K) Σ log w_k: the negative ELBO on the same draws; ≥ the row above
    mc_variance_per_image: Tensor  # Monte Carlo variance of −log p̂_K(x), from the halves of the K draws (NaN if K < 2)
    nested: dict[int, Tensor]  # k → −log p̂_k(x) from the first k of the K draws, for the K-convergence check

    @property
    def num_images(self) -> int:
        return len(self.neg_log_likelihood_per_image)

    @property
    def neg_log_likelihood(self) -> float:
        return self.neg_log_likelihood_per_image.double().mean().item()

    @property
    def standard_error(self) -> float:
        """sd over images / √N: covers the spread of the images and each estimate's Monte Carlo noise."""
        return standard_error_of_mean(self.neg_log_likelihood_per_image.double())

    @property
    def mc_standard_error(self) -> float:
        """The Monte Carlo part alone, √(Σ σ²_MC) / N: the error of the mean over these very images."""
        return self.mc_variance_per_image.double().sum().sqrt().item() / self.num_images


@torch.no_grad()
def iwae_log_likelihood(
    model: nn.Module,
    images: Tensor,
    num_samples: int,
    batch_size: int,
    generator: torch.Generator,
    samples_per_chunk: int = 10,
    progress: bool = False,
    labels: Tensor | None = None,
    nested: Sequence[int] = (),
) -> IWAEResult:
    """The IWAE bound with K = `num_samples` draws for each image (N, C, H, W), the ELBO on the same draws, each
    image's Monte Carlo variance, and the bound from the first k draws for each k in `nested` (all k ≤ K).

    `model` needs `.condition(labels) -> c or None`, `.vae.encoder(x, c) -> (μ, log σ²)`, `.vae.decoder(z, c)`,
    `.log_prior(z)`, `.fixed_prior()` (a context for a fixed model) and `.likelihood` (`neg_log_likelihood`,
    `model_target`), as `VAE` has; `labels` (N,) are needed by a conditional model only. A dequantising likelihood
    draws one target per image, shared by its K draws. Images go through in batches of `batch_size` and the draws in
    chunks of `samples_per_chunk`, so the decoder sees at most batch_size · samples_per_chunk codes at once; the noise
    comes from `generator` in that order, so the result is reproducible for a given generator state, batch size and
    chunk size.
    """
    _check_positive(num_samples=num_samples, batch_size=batch_size, samples_per_chunk=samples_per_chunk)
    if images.ndim != 4 or len(images) == 0:
        raise ConfigError(f"images has shape {tuple(images.shape)}: pass a non-empty batch (N, C, H, W).")
    if any(not 1 <= k <= num_samples for k in nested):
        raise ConfigError(f"nested sample counts {list(nested)} must lie in [1, K = {num_samples}].")
    device = model_device(model)
    label_batches = labels.split(batch_size) if labels is not None else [None] * len(images.split(batch_size))
    batches = zip(images.split(batch_size), label_batches, strict=True)
    parts: list[dict[str, Tensor]] = []
    if progress:
        batches = progress_bar(batches, f"IWAE K={num_samples}", total=len(label_batches))
    with model.fixed_prior():
        for batch, batch_labels in batches:
            condition = model.condition(batch_labels.to(device) if batch_labels is not None else None)
            log_weights = _log_weights(model, batch.to(device), condition, num_samples, samples_per_chunk, generator)
            parts.append(_per_image_estimates(log_weights, nested))
    joined = {key: torch.cat([part[key] for part in parts]).cpu().float() for key in parts[0]}
    return IWAEResult(num_samples, -joined["iwae"], -joined["elbo"], joined["mc_variance"],
                      {k: -joined[f"nested_{k}"] for k in nested})


def _per_image_estimates(log_weights: Tensor, nested: Sequence[int]) -> dict[str, Tensor]:
    """From the (K, B) log weights: log p̂_K, the ELBO estimate, the MC variance of log p̂_K and the nested bounds,
    each (B,)."""
    if len(log_weights) > 1:
        first, second = (log_mean_exp(half) for half in torch.tensor_split(log_weights, 2))
        mc_variance = (first - second).pow(2) / 2
    else:
        mc_variance = torch.full_like(log_weights[0], math.nan)
    return {"iwae": log_mean_exp(log_weights), "elbo": log_weights.mean(0), "mc_variance": mc_variance,
            **{f"nested_{k}": log_mean_exp(log_weights[:k]) for k in nested}}


def _log_weights(model: nn.Module, x: Tensor, condition: Tensor | None, num_samples: int, samples_per_chunk: int,
                 generator: torch.Generator) -> Tensor:
    """log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x) for K draws per image, (K, B) in float64."""
    mu, log_var = model.vae.encoder(x, condition)
    target = model.likelihood.model_target(x, generator)
    chunks = []
    for start in range(0, num_samples, samples_per_chunk):
        chunk = min(samples_per_chunk, num_samples - start)
        eps = torch.randn((chunk, *mu.shape), generator=generator, device=generator.device, dtype=mu.dtype)
        densities = draw_densities(model, mu, log_var, eps.to(mu.device), target, condition)
        chunks.append(densities.log_weights.double())
    return torch.cat(chunks)


def model_device(model: nn.Module) -> torch.device:
    """Where the model's weights live (CPU for a model without any), so inputs can follow them."""
    return next(model.parameters(), torch.empty(0)).device


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ConfigError(f"{name}={value} is not allowed: it must be an integer ≥ 1.")
