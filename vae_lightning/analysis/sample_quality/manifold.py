"""Improved precision and recall (Kynkäänniemi et al. 2019): each feature set's manifold is the union of balls around
its points, each ball reaching the point's k-th nearest neighbour in the same set. Precision is the share of samples
inside the reference's manifold (are the samples realistic?), recall the share of reference images inside the
samples' manifold (do the samples cover the data?)."""

from typing import NamedTuple

import torch
from torch import Tensor

# Rows of the distance matrix computed at once: 1,000 × 10,000 float32 distances are 40 MB.
CHUNK_ROWS = 1000


def knn_radii(features: Tensor, k: int) -> Tensor:
    """The distance from each point of `features` (N, D) to its k-th nearest other point of the set (N,)."""
    if not 1 <= k < len(features):
        raise ValueError(f"k={k} needs at least k + 1 = {k + 1} points, got {len(features)}")
    # The k + 1 smallest distances include the point itself at distance 0.
    return torch.cat([torch.cdist(chunk, features).topk(k + 1, dim=1, largest=False).values[:, k]
                      for chunk in features.split(CHUNK_ROWS)])


class PrecisionRecall(NamedTuple):
    precision: float
    recall: float


def precision_recall(samples: Tensor, reference: Tensor, k: int) -> PrecisionRecall:
    """Improved precision and recall of `samples` (N, D) against `reference` (M, D) with k-NN balls.

    One pass over the sample-to-reference distances serves both: a sample is realistic when some reference ball
    holds it, a reference point is covered when some sample ball holds it."""
    samples, reference = samples.float(), reference.float()
    reference_radii, sample_radii = knn_radii(reference, k), knn_radii(samples, k)
    realistic = torch.zeros(len(samples), dtype=torch.bool)
    covered = torch.zeros(len(reference), dtype=torch.bool)
    for start in range(0, len(samples), CHUNK_ROWS):
        distances = torch.cdist(samples[start : start + CHUNK_ROWS], reference)
        realistic[start : start + CHUNK_ROWS] = (distances <= reference_radii).any(dim=1)
        covered |= (distances <= sample_radii[start : start + CHUNK_ROWS, None]).any(dim=0)
    return PrecisionRecall(float(realistic.float().mean()), float(covered.float().mean()))
