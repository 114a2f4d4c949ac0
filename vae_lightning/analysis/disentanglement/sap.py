"""SAP score, the Separated Attribute Predictability of Kumar et al. (2018), "Variational Inference of Disentangled
Latent Concepts from Unlabeled Observations", Section 3, for discrete factors.

As in disentanglement_lib (Locatello et al. 2019): for each code dimension d and factor k a linear SVM
(`sklearn.svm.LinearSVC(C=0.01, class_weight="balanced")`, one-vs-rest) is trained on that single dimension and
scored by plain accuracy on held-out codes; with uniformly sampled factors this matches balanced accuracy in
expectation. A one-dimensional one-vs-rest classifier cannot carve many thin intervals, so even a perfect code scores
well below 1 on factors with many values: compare SAP between models, not with 1.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.svm import LinearSVC

from vae_lightning.analysis.disentanglement.mutual_information import top_two

SVM_C = 0.01
CLASSIFIER = f'sklearn LinearSVC(C={SVM_C}, class_weight="balanced") on one code dimension; test accuracy'


def score_matrix(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
                 test_factors: np.ndarray, seed: int) -> np.ndarray:
    """Test accuracy (D, K) of predicting factor k from code dimension d alone."""
    scores = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    for d in range(train_codes.shape[1]):
        for k in range(train_factors.shape[1]):
            svm = LinearSVC(C=SVM_C, class_weight="balanced", random_state=seed)
            svm.fit(train_codes[:, d:d + 1], train_factors[:, k])
            scores[d, k] = svm.score(test_codes[:, d:d + 1], test_factors[:, k])
    return scores


def sap(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray,
        factor_names: Sequence[str], seed: int) -> dict[str, Any]:
    """SAP = mean over factors of the gap between the two code dimensions that predict it best."""
    scores = score_matrix(train_codes, train_factors, test_codes, test_factors, seed)
    gaps, best, second = top_two(scores)
    return {
        "score": float(gaps.mean()),
        "num_train": len(train_codes),
        "num_test": len(test_codes),
        "classifier": CLASSIFIER,
        "per_factor": [{"factor": name, "gap": float(gaps[k]), "top_dims": [int(best[k]), int(second[k])],
                        "accuracy": scores[:, k].tolist()}
                       for k, name in enumerate(factor_names)],
    }
