"""The objective's terms over a whole split, with one seeded sample of z per image."""

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import Tensor

from vae_lightning.models import VAELitModule


class ElboTerms(NamedTuple):
    """Averages over `num_images`, in nats per image."""

    neg_elbo: float
    recon: float
    kl: float
    kl_per_dim: Tensor
    num_images: int


@torch.no_grad()
def evaluate_elbo(model: VAELitModule, batches: Iterable[tuple[Tensor, Tensor]], seed: int) -> ElboTerms:
    """−ELBO = E_q[−log p(x|z)] + KL(q(z|x) ‖ p(z)), estimated with one z per image drawn under `seed`."""
    torch.manual_seed(seed)
    recon_total, kl_total, count = 0.0, None, 0
    for images, labels in batches:
        recon, kl_per_dim = model.elbo_terms(images.to(model.device), labels.to(model.device))
        recon_total += recon.double().sum().item()
        batch_kl = kl_per_dim.double().sum(0)
        kl_total = batch_kl if kl_total is None else kl_total + batch_kl
        count += len(images)
    kl_per_dim = (kl_total / count).float().cpu()
    kl = kl_per_dim.sum().item()
    return ElboTerms(recon_total / count + kl, recon_total / count, kl, kl_per_dim, count)
