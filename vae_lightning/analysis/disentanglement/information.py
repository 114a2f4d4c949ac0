"""Entropies shared by the metrics: of discrete labels (MIG) and of the rows of an importance matrix (DCI)."""

import numpy as np


def discrete_entropy(labels: np.ndarray) -> float:
    """Empirical entropy H(y) in nats of a vector of discrete labels."""
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalised_entropy(weights: np.ndarray, base: int) -> np.ndarray:
    """Entropy in base `base` of each row of non-negative `weights` (n, m), each row normalised to sum to 1.

    With base = m the result lies in [0, 1]: 0 for a one-hot row, 1 for a uniform one (Eastwood & Williams 2018).
    With a single outcome (base 1) there is no uncertainty and the entropy is 0."""
    if base < 2:
        return np.zeros(len(weights))
    p = weights / weights.sum(axis=1, keepdims=True)
    terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=1) / np.log(base)
