"""Disentanglement, completeness and informativeness (Eastwood & Williams 2018, "A Framework for the Quantitative
Evaluation of Disentangled Representations"), from an importance matrix R (D, K) of code dimensions for factors.

By default R is disentanglement_lib's (Locatello et al. 2019, `evaluation/metrics/dci.py`): one sklearn
`GradientBoostingClassifier()` per factor with sklearn's defaults (100 stages of depth-3 trees, learning rate 0.1), its
impurity-based feature importances, and its accuracy as informativeness. Boosting fits one tree per class per stage,
so dSprites' 113 factor values cost 11,300 trees per model: the factors are fitted in parallel processes (`n_jobs`),
which is the only speed-up that keeps the numbers. sklearn's histogram-based HistGradientBoostingClassifier, the
fast boosting, has no impurity importances, so it cannot give the same R.

`model="random_forest"` is the faster option (seconds per factor): bagged CART trees that consider every dimension
at each split, leaves of ≥ 20 codes. It is biased upwards for entangled codes: on a random rotation of dSprites'
true factors it gave D = 0.40 where gradient boosting gave 0.26, up to +0.14 on entangled codes
(benchmarks/factor_ceilings.py measures both on the same codes); compare its numbers only with its own.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from vae_lightning.analysis.disentanglement.information import normalised_entropy
from vae_lightning.errors import ConfigError

FOREST_TREES = 30
FOREST_MIN_LEAF = 20
REGRESSORS = {
    "gradient_boosting": "sklearn GradientBoostingClassifier() per factor (disentanglement_lib's), impurity-based "
                         "feature_importances_",
    "random_forest": f"sklearn RandomForestClassifier(n_estimators={FOREST_TREES}, max_features=None, "
                     f"min_samples_leaf={FOREST_MIN_LEAF}) per factor, impurity-based feature_importances_ "
                     "(biased upwards for entangled codes; not comparable with published DCI)",
}
# disentanglement_lib adds this to R before taking entropies, so that an all-zero row or column is uniform.
ENTROPY_EPSILON = 1e-11


def _classifier(model: str, seed: int) -> GradientBoostingClassifier | RandomForestClassifier:
    if model == "gradient_boosting":
        return GradientBoostingClassifier(random_state=seed)
    if model == "random_forest":
        return RandomForestClassifier(n_estimators=FOREST_TREES, max_features=None,
                                      min_samples_leaf=FOREST_MIN_LEAF, random_state=seed)
    raise ConfigError(f"factor_metrics.dci_model={model!r} is not allowed: use gradient_boosting (the published "
                      "protocol) or random_forest (faster, biased upwards for entangled codes).")


def _fit_factor(model: str, seed: int, train_codes: np.ndarray, train_factor: np.ndarray, test_codes: np.ndarray,
                test_factor: np.ndarray) -> tuple[np.ndarray, float, float]:
    classifier = _classifier(model, seed)
    classifier.fit(train_codes, train_factor)
    return (np.abs(classifier.feature_importances_), classifier.score(train_codes, train_factor),
            classifier.score(test_codes, test_factor))


def importance_matrix(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
                      test_factors: np.ndarray, seed: int, model: str = "gradient_boosting",
                      n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R (D, K) from one classifier per factor, and each one's accuracy (K,) on the train and on the test codes;
    the factors are fitted in `n_jobs` processes (-1: one per core)."""
    _classifier(model, seed)  # an unknown model is refused here, before any process starts
    fits = Parallel(n_jobs=n_jobs)(
        delayed(_fit_factor)(model, seed + k, train_codes, train_factors[:, k], test_codes, test_factors[:, k])
        for k in range(train_factors.shape[1]))
    importance = np.stack([fit[0] for fit in fits], axis=1)
    return importance, np.array([fit[1] for fit in fits]), np.array([fit[2] for fit in fits])


def disentanglement_per_dim(importance: np.ndarray) -> np.ndarray:
    """1 − H_K(P_d·) (D,): 1 when dimension d matters for one factor only, 0 when equally for all K factors."""
    return 1.0 - normalised_entropy(importance + ENTROPY_EPSILON, base=importance.shape[1])


def completeness_per_factor(importance: np.ndarray) -> np.ndarray:
    """1 − H_D(P_·k) (K,): 1 when factor k is captured by one dimension only, 0 when spread over all D."""
    return 1.0 - normalised_entropy(importance.T + ENTROPY_EPSILON, base=importance.shape[0])


def weighted_scores(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness): per-dimension and per-factor scores weighted by their share of ΣR.

    Eastwood & Williams average completeness without weights; disentanglement_lib weights both, and so does this."""
    weights = np.ones_like(importance) if importance.sum() == 0 else importance
    dim_share = weights.sum(axis=1) / weights.sum()
    factor_share = weights.sum(axis=0) / weights.sum()
    return (float((disentanglement_per_dim(importance) * dim_share).sum()),
            float((completeness_per_factor(importance) * factor_share).sum()))


def dimension_labels(importance: np.ndarray, factor_names: Sequence[str]) -> list[dict[str, Any]]:
    """For each code dimension, the factor it is most important for and that factor's share of its importance.

    `dim_importance` is the dimension's share of ΣR: a dimension that predicts nothing has a meaningless label."""
    row_totals = importance.sum(axis=1)
    total = importance.sum()
    labels = []
    for d, row in enumerate(importance):
        k = int(np.argmax(row))
        labels.append({"dim": d, "factor": factor_names[k], "factor_index": k,
                       "importance_share": float(row[k] / row_totals[d]) if row_totals[d] > 0 else 0.0,
                       "dim_importance": float(row_totals[d] / total) if total > 0 else 0.0})
    return labels


def dci(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray,
        factor_names: Sequence[str], seed: int, model: str = "gradient_boosting", n_jobs: int = 1) -> dict[str, Any]:
    """DCI scores, R itself, and the per-dimension factor labels; informativeness is classification accuracy."""
    importance, train_accuracy, test_accuracy = importance_matrix(train_codes, train_factors, test_codes,
                                                                  test_factors, seed, model, n_jobs)
    disentanglement, completeness = weighted_scores(importance)
    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness_train": float(train_accuracy.mean()),
        "informativeness_test": float(test_accuracy.mean()),
        "num_train": len(train_codes),
        "num_test": len(test_codes),
        "regressor": REGRESSORS[model],
        "importance_matrix": importance.tolist(),
        "per_factor": [{"factor": name, "completeness": float(c), "informativeness_train": float(a_train),
                        "informativeness_test": float(a_test)}
                       for name, c, a_train, a_test in zip(factor_names, completeness_per_factor(importance),
                                                           train_accuracy, test_accuracy, strict=True)],
        "per_dimension": [{**label, "disentanglement": float(score)}
                          for label, score in zip(dimension_labels(importance, factor_names),
                                                  disentanglement_per_dim(importance), strict=True)],
    }
