"""Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs"), with the helpers it needs.

Following disentanglement_lib (Locatello et al. 2019): each code dimension is discretised into equal-width bins over
its observed range (a histogram), the mutual information with each discrete factor is the plug-in estimate of
`sklearn.metrics.mutual_info_score` in nats, and it is normalised by the factor's empirical entropy. Chen et al.
estimate I(z_d; v_k) from q(z|x) instead; the histogram estimate depends on the number of bins.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import mutual_info_score

from vae_lightning.analysis.disentanglement.information import discrete_entropy

DISCRETISATION = "equal-width bins per code dimension over its observed range"


def discretise_equal_width(codes: np.ndarray, num_bins: int) -> np.ndarray:
    """Bin index 0 … num_bins − 1 (n, D) of each code value, the bins equal-width over each column's [min, max].

    The maximum falls in the last bin (numpy.histogram's convention); a constant column falls in one bin."""
    binned = np.empty(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, d], bins=num_bins)
        binned[:, d] = np.digitize(codes[:, d], edges[1:-1])
    return binned


def mutual_information_matrix(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Plug-in I(z_d; v_k) in nats (D, K) between each discretised code column and each factor column."""
    return np.array([[mutual_info_score(factors[:, k], discrete_codes[:, d]) for k in range(factors.shape[1])]
                     for d in range(discrete_codes.shape[1])])


def top_two(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of `scores` (D, K): the gap between the best and second-best row, and those two rows' indices.

    With a single row there is no competitor: the gap is the best score itself and the second index is −1."""
    order = np.argsort(-scores, axis=0, kind="stable")
    columns = np.arange(scores.shape[1])
    best = scores[order[0], columns]
    if scores.shape[0] == 1:
        return best, order[0], np.full_like(order[0], -1)
    return best - scores[order[1], columns], order[0], order[1]


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int, factor_names: Sequence[str]) -> dict[str, Any]:
    """MIG = mean over factors k of (I(z_a; v_k) − I(z_b; v_k)) / H(v_k), with a, b the two most informative dims.

    1 means every factor is captured by one code dimension, losslessly at this binning, and by no other."""
    information = mutual_information_matrix(discretise_equal_width(codes, num_bins), factors)
    entropies = np.array([discrete_entropy(factors[:, k]) for k in range(factors.shape[1])])
    gaps, best, second = top_two(information)
    normalised = gaps / entropies
    return {
        "score": float(normalised.mean()),
        "num_samples": len(codes),
        "num_bins": num_bins,
        "discretisation": DISCRETISATION,
        "estimator": "plug-in mutual information (sklearn mutual_info_score), nats, normalised by factor entropy",
        "per_factor": [{"factor": name, "gap": float(normalised[k]), "entropy_nats": float(entropies[k]),
                        "top_dims": [int(best[k]), int(second[k])],
                        "mutual_information_nats": information[:, k].tolist()}
                       for k, name in enumerate(factor_names)],
    }
