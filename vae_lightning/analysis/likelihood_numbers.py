"""The likelihood block of the analysis: the IWAE bound with the ELBO on the same images and draws, their paired
gap, error bars that include the Monte Carlo noise, and the K-convergence check (Burda et al. 2016)."""

import math
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor

from vae_lightning.analysis.likelihood import (
    IWAEResult,
    iwae_log_likelihood,
    paired_difference,
    standard_error_of_mean,
)
from vae_lightning.models import VAE
from vae_lightning.models.likelihoods import bits_per_dim

# The most that bfloat16 arithmetic may move the bound or the ELBO (mean + 2 s.e. over the checked images).
BFLOAT16_TOLERANCE_NATS = 0.05
STANDARD_ERROR_METHOD = (
    "standard_error: sd over images / sqrt(N) of the per-image estimates, which includes each estimate's Monte Carlo "
    "noise; mc_standard_error: the Monte Carlo part alone, sqrt(sum of per-image variances) / N, each variance "
    "(L_a - L_b)^2 / 2 from the bounds of the two halves of the image's K draws (conservative: the variance of a "
    "K/2-draw bound). Neither covers the bias of a finite K: see iwae_convergence."
)


def likelihood_numbers(model: VAE, images: Tensor, labels: Tensor, settings: DictConfig, seed: int,
                       subset: str) -> dict[str, Any]:
    """`iwae` on `images` (the test `subset`) at K = settings.num_samples, and `iwae_convergence` on a seeded random
    settings.convergence.num_images of them at each K of settings.convergence.num_samples, nested in one set of
    draws so that successive K compare image by image.

    Under bfloat16 autocast the bound is first computed both ways on settings.precision_check_images of the images
    with the same draws; when bfloat16 moves it by BFLOAT16_TOLERANCE_NATS or more (mean + 2 s.e.), the whole
    likelihood block is computed in float32 instead. `iwae.bfloat16_check` says which."""
    bfloat16 = torch.is_autocast_enabled(model.device.type)
    check = bfloat16_check(model, images, labels, settings, seed) if bfloat16 else None
    with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=check is not None and check["bfloat16_used"]):
        generator = torch.Generator(device=model.device).manual_seed(seed)
        main = iwae_log_likelihood(model, images, settings.num_samples, settings.batch_size, generator,
                                   progress=True, labels=labels)
        ks = sorted(settings.convergence.num_samples)
        wanted = min(settings.convergence.num_images, len(images))
        chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:wanted].sort().values
        nested = iwae_log_likelihood(model, images[chosen], ks[-1], settings.batch_size, generator, progress=True,
                                     labels=labels[chosen], nested=ks)
    iwae = {"split": "test", "num_images": main.num_images, "images": subset, **_bound(model, main)}
    if check is not None:
        iwae["bfloat16_check"] = check
    return {"iwae": iwae,
            "iwae_convergence": _convergence(nested, ks, f"a random {wanted} of the IWAE images, seed {seed}")}


def bfloat16_check(model: VAE, images: Tensor, labels: Tensor, settings: DictConfig,
                    seed: int) -> dict[str, Any]:
    """The bound and the ELBO in bfloat16 minus float32 on the first images, from the same draws, paired."""
    count = min(settings.precision_check_images, len(images))

    def bound(bfloat16: bool) -> IWAEResult:
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bfloat16):
            return iwae_log_likelihood(model, images[:count], settings.num_samples, settings.batch_size,
                                       torch.Generator(device=model.device).manual_seed(seed), labels=labels[:count])

    low, full = bound(True), bound(False)
    shift = paired_difference(low.neg_log_likelihood_per_image, full.neg_log_likelihood_per_image)
    elbo_shift = paired_difference(low.neg_elbo_per_image, full.neg_elbo_per_image)
    worst = max(abs(shift.mean) + 2 * _finite(shift.standard_error),
                abs(elbo_shift.mean) + 2 * _finite(elbo_shift.standard_error))
    return {"num_images": count, "num_samples": settings.num_samples, "tolerance_nats": BFLOAT16_TOLERANCE_NATS,
            "neg_log_likelihood_shift": shift._asdict(), "neg_elbo_shift": elbo_shift._asdict(),
            "bfloat16_used": worst < BFLOAT16_TOLERANCE_NATS,
            "paired": "per image: bfloat16 minus float32, the same images and the same K draws"}


def _finite(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _bound(model: VAE, result: IWAEResult) -> dict[str, Any]:
    gap = paired_difference(result.neg_elbo_per_image, result.neg_log_likelihood_per_image)
    numbers = {
        "num_samples": result.num_samples,
        "neg_log_likelihood": result.neg_log_likelihood, "standard_error": result.standard_error,
        "mc_standard_error": result.mc_standard_error, "standard_error_method": STANDARD_ERROR_METHOD,
        "neg_elbo": result.neg_elbo_per_image.double().mean().item(),
        "neg_elbo_standard_error": standard_error_of_mean(result.neg_elbo_per_image),
        "elbo_iwae_gap": {"mean": gap.mean, "standard_error": gap.standard_error,
                          "paired": "per image: -ELBO minus -IWAE on the same images and the same K draws"},
    }
    if model.likelihood.discrete_8bit:
        num_dims = math.prod(model.hparams.image_shape)
        numbers["bits_per_dim"] = {name: float(bits_per_dim(model.likelihood.discrete_nats(
            torch.tensor(numbers[name]), num_dims), num_dims)) for name in ("neg_log_likelihood", "neg_elbo")}
    return numbers


def _convergence(result: IWAEResult, ks: list[int], subset: str) -> dict[str, Any]:
    """−log p̂_k(x) for each k from the first k of the same draws, and each step's paired change."""
    steps = list(zip(ks, ks[1:], strict=False))
    return {
        "split": "test", "num_images": result.num_images, "images": subset, "num_samples": ks,
        "neg_log_likelihood": [result.nested[k].double().mean().item() for k in ks],
        "standard_error": [standard_error_of_mean(result.nested[k]) for k in ks],
        "change_from_previous_k": [{"from": previous, "to": k,
                                    **paired_difference(result.nested[k], result.nested[previous])._asdict()}
                                   for previous, k in steps],
    }
