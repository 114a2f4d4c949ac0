"""How a latent traversal changes the decoded image: how much per step, how evenly, and whether it goes one way.

A dimension that controls one factor (stroke width, sleeve length) tends to change pixels steadily in one direction
across the sweep; one that the decoder ignores changes nothing, and an entangled one flickers back and forth.
"""

from typing import NamedTuple

import torch
from torch import Tensor

from vae_lightning.errors import ConfigError


class SmoothnessResult(NamedTuple):
    """One value per traversal (the leading dimensions of the images); all three are 0 for a static sweep."""

    mean_step_change: Tensor
    monotonicity: Tensor
    max_step_fraction: Tensor


def traversal_smoothness(images: Tensor) -> SmoothnessResult:
    """Step size, monotonicity and evenness of decoded traversals `images` (..., steps, C, H, W), e.g. (dims, steps, …).

    With Δ_t = x_{t+1} − x_t the change between adjacent steps and p a pixel:
    - mean_step_change = mean over t and p of |Δ_t,p|: the mean absolute pixel change per step.
    - monotonicity = Σ_p |Σ_t Δ_t,p| / Σ_p Σ_t |Δ_t,p| = Σ_p |x_last,p − x_first,p| / Σ_p Σ_t |Δ_t,p|. Per pixel,
      |Σ_t Δ_t| / Σ_t |Δ_t| is 1 when the pixel only ever moves one way and near 0 when it goes back and forth;
      this is its average over pixels weighted by Σ_t |Δ_t|, so static background pixels do not count. 1 = every
      pixel changes monotonically across the sweep.
    - max_step_fraction = largest step change / sum of step changes: 1 / (steps − 1) for perfectly even steps,
      towards 1 when the whole change happens in one abrupt jump.
    A sweep that changes no pixel has no direction and no jump: its monotonicity and max_step_fraction are 0, not
    NaN, so a dimension the decoder ignores never scores as perfectly monotone.
    """
    if images.ndim < 4 or images.shape[-4] < 2:
        raise ConfigError(f"images has shape {tuple(images.shape)}: pass traversals (..., steps, C, H, W), steps ≥ 2.")
    flat = images.double().flatten(-3)
    deltas = flat.diff(dim=-2)
    step_change = deltas.abs().mean(-1)
    total_step_change = step_change.sum(-1)
    total_variation = deltas.abs().sum((-2, -1))
    net_change = deltas.sum(-2).abs().sum(-1)
    return SmoothnessResult(
        mean_step_change=step_change.mean(-1).float(),
        monotonicity=_ratio_or_zero(net_change, total_variation),
        max_step_fraction=_ratio_or_zero(step_change.amax(-1), total_step_change),
    )


def _ratio_or_zero(numerator: Tensor, denominator: Tensor) -> Tensor:
    ratio = numerator / denominator.clamp(min=torch.finfo(denominator.dtype).tiny)
    return torch.where(denominator > 0, ratio, torch.zeros_like(ratio)).float()
