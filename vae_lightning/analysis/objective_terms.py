"""A model's objective terms over a whole split, with one seeded sample of z per image."""

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import Tensor

from vae_lightning.models import VAE


class SplitTerms(NamedTuple):
    """Each term of `VAE.objective` averaged over `num_images` (nats per image for the ELBO terms)."""

    scalars: dict[str, float]
    per_dim: dict[str, list[float]]  # the 1-d terms, e.g. kl_per_dim
    num_images: int


@torch.no_grad()
def evaluate_objective(model: VAE, batches: Iterable[tuple[Tensor, Tensor]], seed: int) -> SplitTerms:
    """Every term the model's objective reports (−ELBO = E_q[−log p(x|z)] + KL among them), at the schedule's final
    value, estimated with one z per image drawn under `seed`; batch means are weighted by batch size."""
    torch.manual_seed(seed)
    totals: dict[str, Tensor] = {}
    count = 0
    for images, labels in batches:
        terms = model.objective(images.to(model.device), labels.to(model.device), None)
        for name, value in terms.items():
            weighted = value.detach().double().cpu() * len(images)
            totals[name] = totals[name] + weighted if name in totals else weighted
        count += len(images)
    means = {name: total / count for name, total in totals.items()}
    return SplitTerms({name: mean.item() for name, mean in means.items() if mean.ndim == 0},
                      {name: mean.float().tolist() for name, mean in means.items() if mean.ndim == 1}, count)
