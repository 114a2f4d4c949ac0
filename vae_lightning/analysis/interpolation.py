"""Paths between two latent codes, for decoding what lies between two images.

Spherical interpolation (Shoemake 1985; White 2016, "Sampling generative networks") keeps the norm roughly constant:
under a high-dimensional N(0, I) prior almost all mass lies near the sphere of radius √D, and the straight line
between two typical codes passes through the unlikely region near the origin.
"""

from typing import Literal

import torch
from torch import Tensor

from vae_lightning.errors import ConfigError

METHODS = ("linear", "spherical")
# Below this sin Ω the two directions are (anti)parallel: slerp's 1 / sin Ω blows up, and lerp is the same path.
PARALLEL_SIN_TOLERANCE = 1e-6


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """(1 − t) a + t b for each t (T,): the straight line from a (D,) to b (D,), shape (T, D)."""
    t = t.to(a)[:, None]
    return (1 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """sin((1 − t)Ω) / sin Ω · a + sin(tΩ) / sin Ω · b with Ω the angle between a and b; shape (T, D).

    Falls back to `lerp` when a or b is zero or they are (anti)parallel, where the angle gives no unique great circle.
    """
    norms = a.norm() * b.norm()
    cos_omega = (a @ b / norms).clamp(-1.0, 1.0) if norms > 0 else a.new_tensor(1.0)
    omega = torch.arccos(cos_omega)
    sin_omega = torch.sin(omega)
    if sin_omega < PARALLEL_SIN_TOLERANCE:
        return lerp(a, b, t)
    t = t.to(a)[:, None]
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / sin_omega


def interpolate(a: Tensor, b: Tensor, steps: int, method: Literal["linear", "spherical"]) -> Tensor:
    """`steps` evenly spaced points (steps, D) from a (D,) to b (D,), both endpoints included."""
    if method not in METHODS:
        raise ConfigError(f"interpolation method={method!r} is not known: use one of {', '.join(METHODS)}.")
    if steps < 2:
        raise ConfigError(f"interpolation steps={steps} is not allowed: a path needs at least its 2 endpoints.")
    t = torch.linspace(0.0, 1.0, steps)
    path = lerp(a, b, t) if method == "linear" else slerp(a, b, t)
    path[0], path[-1] = a, b
    return path
