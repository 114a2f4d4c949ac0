"""Latent traversals: vary one latent dimension, hold all others, and see what the decoder does with it."""

from collections.abc import Sequence

import torch
from torch import Tensor


def most_active_dims(kl_per_dim: Tensor, k: int) -> list[int]:
    """Indices of the `k` dimensions with the largest KL, most informative first."""
    return torch.argsort(kl_per_dim, descending=True)[:k].tolist()


def traversal_latents(base: Tensor, dims: Sequence[int], offsets: Tensor) -> Tensor:
    """Latent grid (len(dims), len(offsets), D): row r is `base` with dimension dims[r] shifted by each offset.

    Offsets are in prior standard deviations (the prior is N(0, I)), added to the base code, e.g. a test image's μ.
    """
    rows = torch.as_tensor(list(dims), dtype=torch.long, device=base.device)
    grid = base.expand(len(rows), len(offsets), base.shape[-1]).clone()
    grid[torch.arange(len(rows), device=base.device), :, rows] = base[rows, None] + offsets.to(base)[None, :]
    return grid
