"""The Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017), with a bootstrap
error bar.

The trace of the matrix square root is taken through symmetric eigen-decompositions, Tr √(Σ_a Σ_b) =
Σ √λ(Σ_a^½ Σ_b Σ_a^½), rather than `scipy.linalg.sqrtm(Σ_a Σ_b)` as pytorch-fid does: the two agree (tests check it),
and the symmetric route has no complex round-off to discard and no failure on a singular covariance.
"""

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor


class GaussianFit(NamedTuple):
    """Mean (D,) and unbiased covariance (D, D) of a feature set, in float64."""

    mean: Tensor
    covariance: Tensor


def fit_gaussian(features: Tensor) -> GaussianFit:
    """The mean and the unbiased (N − 1) covariance of `features` (N, D), as pytorch-fid's `np.cov` computes them."""
    features = features.double()
    return GaussianFit(features.mean(0), torch.cov(features.T).reshape(features.shape[1], features.shape[1]))


def frechet_distance(a: GaussianFit, b: GaussianFit) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½): the squared 2-Wasserstein distance between two Gaussians."""
    eigenvalues, eigenvectors = torch.linalg.eigh(a.covariance)
    root_a = (eigenvectors * eigenvalues.clamp_min(0).sqrt()) @ eigenvectors.T
    middle = root_a @ b.covariance @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    distance = (a.mean - b.mean).square().sum() + a.covariance.trace() + b.covariance.trace() - 2 * trace_root
    return max(float(distance), 0.0)


def fid(samples: Tensor, reference: Tensor) -> float:
    """The Fréchet distance between the Gaussians fitted to two feature sets (N, D) and (M, D)."""
    return frechet_distance(fit_gaussian(samples), fit_gaussian(reference))


class FIDEstimate(NamedTuple):
    """FID on the full sets, and the standard deviation of FID over bootstrap resamples of both sets."""

    value: float
    bootstrap_std: float
    num_resamples: int


def fid_with_bootstrap(samples: Tensor, reference: Tensor, num_resamples: int,
                       generator: torch.Generator) -> FIDEstimate:
    """FID and its bootstrap error: both sets resampled with replacement `num_resamples` times, the standard deviation
    of the resampled FIDs. It measures how much FID would move with other draws of the same size; it does not remove
    FID's upward bias at finite N (FID of two disjoint halves of one set is above 0)."""
    resampled = [
        fid(samples[torch.randint(len(samples), (len(samples),), generator=generator)],
            reference[torch.randint(len(reference), (len(reference),), generator=generator)])
        for _ in range(num_resamples)
    ]
    spread = float(np.std(resampled, ddof=1)) if num_resamples > 1 else 0.0
    return FIDEstimate(fid(samples, reference), spread, num_resamples)
