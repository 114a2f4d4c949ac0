"""The importance-weighted bound on log p(x) (Burda et al. 2016): a tighter likelihood estimate than the ELBO.

With z_1..z_K ~ q(z|x), log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x) is a lower bound on log p(x) that is the ELBO (in
expectation) at K = 1 and tightens monotonically towards log p(x) as K grows. The gap between −ELBO and the IWAE
number says how far q(z|x) is from the true posterior.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn
from tqdm import tqdm

from vae_lightning.errors import ConfigError

LOG_2PI = math.log(2 * math.pi)


class IWAEResult(NamedTuple):
    """−log p̂(x) from the K-sample bound, in nats per image: in expectation an upper bound on the true −log p(x)."""

    neg_log_likelihood: float
    standard_error: float
    num_samples: int
    num_images: int
    neg_log_likelihood_per_image: Tensor


@torch.no_grad()
def iwae_log_likelihood(
    model: nn.Module,
    images: Tensor,
    num_samples: int,
    batch_size: int,
    generator: torch.Generator,
    samples_per_chunk: int = 25,
    progress: bool = False,
    labels: Tensor | None = None,
) -> IWAEResult:
    """The IWAE bound with K = `num_samples` for each image (N, C, H, W), as −log p̂(x) in nats.

    `model` needs `.condition(labels) -> c or None`, `.vae.encoder(x, c) -> (μ, log σ²)`, `.vae.decoder(z, c) ->
    logits` and `.likelihood.neg_log_likelihood(logits, x) -> (B,)`, as `VAELitModule` has; `labels` (N,) are needed
    by a conditional model only. Images go through in batches of
    `batch_size` and the K samples in chunks of `samples_per_chunk`, so the decoder sees at most
    batch_size · samples_per_chunk latent codes at once. The noise is drawn from `generator` batch by batch and chunk
    by chunk, so the result is reproducible for a given generator state, batch size and chunk size.
    The standard error is the spread over images, std / √N (NaN for a single image); it does not include the
    Monte-Carlo noise of each image's estimate.
    """
    _check_positive(num_samples=num_samples, batch_size=batch_size, samples_per_chunk=samples_per_chunk)
    if images.ndim != 4 or len(images) == 0:
        raise ConfigError(f"images has shape {tuple(images.shape)}: pass a non-empty batch (N, C, H, W).")
    device = model_device(model)
    per_image = []
    label_batches = labels.split(batch_size) if labels is not None else [None] * len(images.split(batch_size))
    batches = zip(images.split(batch_size), label_batches, strict=True)
    for batch, batch_labels in tqdm(batches, desc=f"IWAE K={num_samples}", disable=not progress,
                                    total=len(label_batches)):
        condition = model.condition(batch_labels.to(device) if batch_labels is not None else None)
        per_image.append(_log_likelihood_batch(model, batch.to(device), condition, num_samples, samples_per_chunk,
                                               generator))
    log_likelihood = torch.cat(per_image).cpu()
    num_images = len(log_likelihood)
    standard_error = log_likelihood.std().item() / math.sqrt(num_images) if num_images > 1 else math.nan
    return IWAEResult(-log_likelihood.mean().item(), standard_error, num_samples, num_images,
                      (-log_likelihood).float())


def _log_likelihood_batch(model: nn.Module, x: Tensor, condition: Tensor | None, num_samples: int,
                          samples_per_chunk: int, generator: torch.Generator) -> Tensor:
    """log p̂(x) per image (B,) in float64: a running logsumexp over chunks of the K log importance weights."""
    mu, log_var = model.vae.encoder(x, condition)
    std = torch.exp(0.5 * log_var)
    chunk_lse = []
    for start in range(0, num_samples, samples_per_chunk):
        chunk = min(samples_per_chunk, num_samples - start)
        eps = torch.randn((chunk, *mu.shape), generator=generator, device=generator.device, dtype=mu.dtype)
        eps = eps.to(mu.device)
        z = mu + std * eps
        # log q(z|x) with z − μ = σ·ε, and log p(z) for the standard-normal prior, both summed over dimensions.
        log_q = -0.5 * (eps.pow(2) + log_var + LOG_2PI).sum(-1)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        logits = model.vae.decoder(z.flatten(0, 1), condition.repeat(chunk, 1) if condition is not None else None)
        targets = x.expand(chunk, *x.shape).flatten(0, 1)
        log_px_given_z = -model.likelihood.neg_log_likelihood(logits, targets).view(chunk, len(x))
        log_weights = (log_px_given_z + log_prior - log_q).double()
        chunk_lse.append(torch.logsumexp(log_weights, dim=0))
    return torch.logsumexp(torch.stack(chunk_lse), dim=0) - math.log(num_samples)


def model_device(model: nn.Module) -> torch.device:
    """Where the model's weights live (CPU for a model without any), so inputs can follow them."""
    return next(model.parameters(), torch.empty(0)).device


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ConfigError(f"{name}={value} is not allowed: it must be an integer ≥ 1.")
