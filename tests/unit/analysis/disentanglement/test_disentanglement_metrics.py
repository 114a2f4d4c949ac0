"""Disentanglement metrics on synthetic factors whose codes have known answers: the factors themselves (perfect), a
rotation of them (entangled but informative), noise (nothing), and a code that misses one factor."""

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from joblib import parallel_config
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import mutual_info_score
from torch import Tensor

from vae_lightning.analysis.disentanglement import FactorMetricSettings, factor_metrics
from vae_lightning.analysis.disentanglement.ceilings import TrueFactorCodes, true_factor_ceilings
from vae_lightning.analysis.disentanglement.dci import (
    completeness_per_factor,
    dci,
    dimension_labels,
    importance_matrix,
    weighted_scores,
)
from vae_lightning.analysis.disentanglement.information import discrete_entropy, normalised_entropy
from vae_lightning.analysis.disentanglement.intervention_scores import (
    batches_with_fixed_factor,
    factor_vae_votes,
    majority_vote_accuracy,
    paired_batches,
)
from vae_lightning.analysis.disentanglement.mutual_information import discretise_equal_width, mig, top_two
from vae_lightning.analysis.disentanglement.sap import score_matrix
from vae_lightning.data.factors import FactorSpace
from vae_lightning.errors import ConfigError, DataError

SIZES = (3, 6, 8, 8)
NAMES = ("shape", "scale", "x", "y")
SMALL = FactorMetricSettings(mig_num_train=2000, dci_num_train=2000, dci_num_test=1000, sap_num_train=2000,
                             sap_num_test=1000, factor_vae_num_train=300, factor_vae_num_eval=200,
                             factor_vae_num_variance_estimate=2000, beta_vae_num_train=300, beta_vae_num_eval=200,
                             encode_batch_size=500, encode_whole_grid=False,  # the noise code is not deterministic
                             dci_model="random_forest")  # seconds, not minutes; gradient boosting is tested below
# Each factor's values standardised to mean 0 and std 1 under uniform sampling, the scale of a VAE's μ.
STANDARDISE = [((torch.arange(s) - (s - 1) / 2) / torch.arange(s).float().std(unbiased=False)) for s in SIZES]
# Every code dimension an equal-magnitude mix of all four factors: the most entangled rotation.
HADAMARD = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float32) / 2


class GridFactors:
    """A FactorSource whose "image" (n, 1, 1, K) holds the factor indices scaled to [0, 1]."""

    def __init__(self, sizes: tuple[int, ...] = SIZES) -> None:
        self.factor_space = FactorSpace(NAMES[:len(sizes)], sizes, tuple(tuple(map(float, range(s))) for s in sizes))
        self.largest_request = 0

    def images_for_factors(self, factors: Tensor) -> Tensor:
        self.largest_request = max(self.largest_request, len(factors))
        scale = torch.tensor(self.factor_space.sizes, dtype=torch.float32) - 1
        return (factors.float() / scale).view(len(factors), 1, 1, -1)


class NoFactors:
    factor_space = None

    def images_for_factors(self, factors: Tensor) -> Tensor:
        raise AssertionError("a source without factors must not be asked for images")


def identity_code(images: Tensor) -> Tensor:
    indices = images.flatten(1) * (torch.tensor(SIZES) - 1)
    return torch.stack([STANDARDISE[k][indices[:, k].round().long()] for k in range(len(SIZES))], dim=1)


def rotated_code(images: Tensor) -> Tensor:
    return identity_code(images) @ HADAMARD.T


def missing_code(images: Tensor) -> Tensor:
    """The perfect code without factor 2 ("x")."""
    return identity_code(images)[:, [0, 1, 3]]


def noise_code() -> Callable[[Tensor], Tensor]:
    generator = torch.Generator().manual_seed(123)
    return lambda images: torch.randn(len(images), len(SIZES), generator=generator)


@pytest.fixture(scope="module")
def scores() -> dict[str, dict]:
    codes = {"identity": identity_code, "rotation": rotated_code, "noise": noise_code(), "missing": missing_code}
    return {name: factor_metrics(GridFactors(), encode, SMALL, seed=0) for name, encode in codes.items()}


CHANCE = float(np.mean([1 / s for s in SIZES]))


# Pure helpers on hand-computed examples.

def test_discretise_equal_width_splits_the_observed_range_into_equal_bins():
    codes = np.array([[0.0, 5.0], [0.24, 5.0], [0.25, 5.0], [0.99, 5.0], [1.0, 5.0]])
    binned = discretise_equal_width(codes, num_bins=4)
    assert binned[:, 0].tolist() == [0, 0, 1, 3, 3]  # edges 0, .25, .5, .75, 1; the maximum joins the last bin
    assert len(set(binned[:, 1].tolist())) == 1  # a constant column falls in one bin


def test_discretise_equal_width_matches_disentanglement_lib_histogram_digitize():
    codes = np.random.default_rng(0).normal(size=(500, 3))
    reference = np.stack([np.digitize(codes[:, d], np.histogram(codes[:, d], 20)[1][:-1]) - 1 for d in range(3)], 1)
    np.testing.assert_array_equal(discretise_equal_width(codes, 20), reference)


def test_discrete_entropy_is_log_of_the_number_of_equally_likely_values():
    assert discrete_entropy(np.array([0, 0, 1, 1])) == pytest.approx(math.log(2))
    assert discrete_entropy(np.array([3, 3, 3])) == 0.0
    assert discrete_entropy(np.array([0, 1, 1, 1])) == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))


def test_normalised_entropy_is_zero_for_one_hot_and_one_for_uniform_rows():
    entropy = normalised_entropy(np.array([[3.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]), base=3)
    np.testing.assert_allclose(entropy, [0.0, 1.0, math.log(2) / math.log(3)])


def test_top_two_returns_gap_and_indices_of_best_two_rows_per_column():
    gaps, best, second = top_two(np.array([[0.9, 0.1], [0.2, 0.5], [0.4, 0.45]]))
    np.testing.assert_allclose(gaps, [0.5, 0.05])
    assert best.tolist() == [0, 1] and second.tolist() == [2, 2]
    single_gap, _, single_second = top_two(np.array([[0.3, 0.7]]))
    np.testing.assert_allclose(single_gap, [0.3, 0.7])
    assert single_second.tolist() == [-1, -1]


def test_dci_weighted_scores_match_hand_computation():
    importance = np.array([[1.0, 1.0], [0.0, 3.0]])
    disentanglement, completeness = weighted_scores(importance)
    # Rows: (½, ½) → 0 with ⅖ of ΣR and (0, 1) → 1 with ⅗.
    assert disentanglement == pytest.approx(0.6, abs=1e-9)
    # Columns: (1, 0) → 1 with ⅕ of ΣR; (¼, ¾) → 1 − H₂(¼) with ⅘.
    h = -(1 / 4 * math.log2(1 / 4) + 3 / 4 * math.log2(3 / 4))
    assert completeness == pytest.approx(0.2 + 0.8 * (1 - h), abs=1e-9)
    np.testing.assert_allclose(completeness_per_factor(importance), [1.0, 1 - h], atol=1e-9)


def test_dimension_labels_name_the_factor_with_the_largest_importance_share():
    labels = dimension_labels(np.array([[0.1, 0.3], [0.6, 0.0], [0.0, 0.0]]), ["shape", "scale"])
    assert [label["factor"] for label in labels[:2]] == ["scale", "shape"]
    assert labels[0]["importance_share"] == pytest.approx(0.75)
    assert labels[1]["dim_importance"] == pytest.approx(0.6)
    assert labels[2]["importance_share"] == 0.0 and labels[2]["dim_importance"] == 0.0


def test_sap_scores_each_dimension_on_held_out_codes():
    factors = np.repeat([[0], [1]], 200, axis=0)
    codes = np.hstack([factors * 2.0 - 1, np.zeros_like(factors, dtype=float)])
    # Trained where the factor is +z, tested where it is −z: a perfect training fit is wrong on every test code.
    scores = score_matrix(codes, factors, -codes, factors, seed=0)
    assert scores[0, 0] == 0.0 and scores[1, 0] == pytest.approx(0.5)
    assert score_matrix(codes, factors, codes, factors, seed=0)[0, 0] == 1.0


def test_factor_vae_vote_is_the_active_dim_with_least_relative_variance():
    codes = torch.tensor([[[0.0, 0.0, 5.0], [0.0, 2.0, 5.0], [0.0, 4.0, 5.0]]]).double()  # variances 0, 4, 0
    global_variance = torch.tensor([1.0, 1.0, 1.0]).double()
    assert factor_vae_votes(codes, global_variance, torch.tensor([True, True, True])).tolist() == [0]
    assert factor_vae_votes(codes, global_variance, torch.tensor([False, True, True])).tolist() == [2]
    # Raw variances 1 and 4, but relative to global variances 1 and 16 the second dimension varies least.
    spread = torch.tensor([[[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]]).double()
    assert factor_vae_votes(spread, torch.tensor([1.0, 16.0]).double(), torch.tensor([True, True])).tolist() == [1]


def test_majority_vote_accuracy_counts_votes_that_agree_with_the_majority_factor():
    train_factor, train_vote = torch.tensor([0, 0, 1, 1, 1, 2]), torch.tensor([0, 0, 1, 1, 0, 1])
    # dim 0 → factor 0 (2 of 3 votes), dim 1 → factor 1 (2 of 3), dim 2 never voted for → factor 0.
    train_accuracy, eval_accuracy, classifier = majority_vote_accuracy(
        train_factor, train_vote, torch.tensor([0, 1, 2, 0]), torch.tensor([0, 1, 1, 2]), num_factors=3, num_dims=3)
    assert classifier == [0, 1, 0]
    assert train_accuracy == pytest.approx(4 / 6)
    assert eval_accuracy == pytest.approx(3 / 4)


def test_batches_with_fixed_factor_share_only_that_factor_within_each_batch():
    space = GridFactors().factor_space
    fixed, factors = batches_with_fixed_factor(space, 50, 16, torch.Generator().manual_seed(0))
    assert factors.shape == (50, 16, len(SIZES))
    for n in range(50):
        assert (factors[n, :, fixed[n]] == factors[n, 0, fixed[n]]).all()
        others = [k for k in range(len(SIZES)) if k != fixed[n]]
        assert any(len(factors[n, :, k].unique()) > 1 for k in others)
    assert set(fixed.tolist()) == set(range(len(SIZES)))


def test_paired_batches_agree_pair_by_pair_on_the_fixed_factor_only():
    space = GridFactors().factor_space
    fixed, first, second = paired_batches(space, 50, 16, torch.Generator().manual_seed(0))
    rows = torch.arange(50)
    assert torch.equal(first[rows, :, fixed], second[rows, :, fixed])
    assert (first != second).any(dim=2).float().mean() > 0.9
    assert any(len(first[n, :, fixed[n]].unique()) > 1 for n in range(50))  # each pair has its own value


# Whole metrics on codes with known answers.

def test_perfect_code_scores_perfectly(scores):
    result = scores["identity"]
    # MIG: each factor's dimension carries all H(v_k) at 20 bins; the others only the plug-in bias (~k²/2n nats).
    assert result["mig"]["score"] == pytest.approx(1.0, abs=0.01)
    # DCI: the forests split only on the factor's own dimension, so R is diagonal.
    for key in ("disentanglement", "completeness", "informativeness_train", "informativeness_test"):
        assert result["dci"][key] == pytest.approx(1.0, abs=1e-6)
    # FactorVAE: the fixed factor's dimension has exactly zero variance, so every vote is right.
    assert result["factor_vae_score"]["train_accuracy"] == 1.0 and result["factor_vae_score"]["eval_accuracy"] == 1.0
    assert result["factor_vae_score"]["dim_to_factor"] == list(NAMES)
    # β-VAE: the fixed factor's |z¹ − z²| is exactly 0, linearly separable from the rest.
    assert result["beta_vae_score"]["eval_accuracy"] >= 0.99
    # SAP: the best dimension is the factor's own, the runner-up is at chance.
    for k, factor in enumerate(result["sap"]["per_factor"]):
        assert factor["top_dims"][0] == k
        assert max(np.delete(factor["accuracy"], k)) < 1 / SIZES[k] + 0.1


def test_perfect_code_labels_each_dimension_with_its_factor(scores):
    labels = scores["identity"]["dci"]["per_dimension"]
    assert [label["factor"] for label in labels] == list(NAMES)
    assert all(label["importance_share"] > 0.999 for label in labels)


def test_rotated_code_is_informative_but_not_disentangled(scores):
    perfect, rotated, noise = scores["identity"], scores["rotation"], scores["noise"]
    assert rotated["mig"]["score"] < 0.05
    assert rotated["sap"]["score"] < 0.05 < perfect["sap"]["score"] / 2
    assert rotated["dci"]["disentanglement"] < 0.05 and rotated["dci"]["completeness"] < 0.05
    # Trees on rotated axes need many splits, but the factors stay far more predictable than from noise.
    assert rotated["dci"]["informativeness_test"] > 0.7 > 2 * noise["dci"]["informativeness_test"]
    assert rotated["factor_vae_score"]["eval_accuracy"] < 0.5


def test_noise_code_scores_at_chance(scores):
    result = scores["noise"]
    assert result["mig"]["score"] < 0.01
    assert result["sap"]["score"] < 0.05
    assert result["dci"]["informativeness_test"] == pytest.approx(CHANCE, abs=0.05)
    assert result["factor_vae_score"]["eval_accuracy"] == pytest.approx(1 / len(SIZES), abs=0.1)
    assert result["beta_vae_score"]["eval_accuracy"] == pytest.approx(1 / len(SIZES), abs=0.1)


def test_code_missing_a_factor_scores_zero_on_that_factor_only(scores):
    result = scores["missing"]
    mig_gaps = [factor["gap"] for factor in result["mig"]["per_factor"]]
    assert mig_gaps[2] < 0.01
    assert min(mig_gaps[:2] + mig_gaps[3:]) > 0.98
    dci = result["dci"]["per_factor"]
    assert dci[2]["completeness"] < 0.1 and dci[2]["informativeness_test"] == pytest.approx(1 / 8, abs=0.05)
    assert all(dci[k]["completeness"] > 0.999 and dci[k]["informativeness_test"] == 1.0 for k in (0, 1, 3))
    assert result["mig"]["score"] == pytest.approx(0.75, abs=0.01)
    # Votes for the missing factor land on some other factor's dimension: about a quarter of votes are lost.
    assert result["factor_vae_score"]["eval_accuracy"] == pytest.approx(0.75, abs=0.08)


def _two_factor_codes(n: int, seed: int, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Two factors of 3 and 4 values, standardised and rotated by `angle` (0: the factors themselves)."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(3, size=n), rng.integers(4, size=n)], axis=1)
    standardised = (factors - factors.mean(0)) / factors.std(0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return standardised @ rotation.T, factors


def test_gradient_boosting_dci_is_disentanglement_libs_classifier_in_any_number_of_processes():
    train, test = _two_factor_codes(120, 0, 0.3), _two_factor_codes(40, 1, 0.3)
    with parallel_config(backend="threading"):  # two workers without the cost of starting processes
        importance, train_accuracy, _ = importance_matrix(*train, *test, seed=7, model="gradient_boosting", n_jobs=2)
    for k in range(2):
        reference = GradientBoostingClassifier(random_state=7 + k).fit(train[0], train[1][:, k])
        np.testing.assert_allclose(importance[:, k], reference.feature_importances_)
        assert train_accuracy[k] == reference.score(train[0], train[1][:, k])


def test_gradient_boosting_dci_is_near_one_for_the_true_factors_and_near_zero_at_45_degrees():
    perfect = dci(*_two_factor_codes(200, 0, 0.0), *_two_factor_codes(50, 1, 0.0), NAMES[:2], seed=0)
    mixed = dci(*_two_factor_codes(200, 0, np.pi / 4), *_two_factor_codes(50, 1, np.pi / 4), NAMES[:2], seed=0)
    assert perfect["disentanglement"] > 0.95 and perfect["completeness"] > 0.95
    assert mixed["disentanglement"] < 0.2 and mixed["completeness"] < 0.2
    assert "GradientBoostingClassifier" in perfect["regressor"]


def test_the_ceiling_is_the_metrics_of_the_true_factor_values():
    space = GridFactors().factor_space
    values = TrueFactorCodes(space).images_for_factors(torch.tensor([[2, 5, 0, 7]]))
    assert values.tolist() == [[2.0, 5.0, 0.0, 7.0]]
    ceiling = true_factor_ceilings(space, SMALL, seed=0)
    assert ceiling["dci"]["disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert ceiling["mig"]["score"] == pytest.approx(1.0, abs=0.01) and ceiling["factor_vae_score"]["score"] == 1.0


# The result dict: reproducible, sized as asked, JSON-ready.

def test_same_seed_gives_identical_results_and_another_seed_differs(scores):
    again = factor_metrics(GridFactors(), identity_code, SMALL, seed=0)
    assert json.dumps(again, sort_keys=True) == json.dumps(scores["identity"], sort_keys=True)
    other = factor_metrics(GridFactors(), rotated_code, SMALL, seed=1)
    assert other["mig"]["per_factor"] != scores["rotation"]["mig"]["per_factor"]


def test_reported_sizes_match_settings_and_encoding_is_batched(scores):
    result = scores["identity"]
    assert result["mig"]["num_samples"] == SMALL.mig_num_train and result["mig"]["num_bins"] == SMALL.mig_num_bins
    assert (result["dci"]["num_train"], result["dci"]["num_test"]) == (SMALL.dci_num_train, SMALL.dci_num_test)
    assert (result["sap"]["num_train"], result["sap"]["num_test"]) == (SMALL.sap_num_train, SMALL.sap_num_test)
    factor_vae = result["factor_vae_score"]
    assert (factor_vae["batch_size"], factor_vae["num_train"], factor_vae["num_eval"],
            factor_vae["num_variance_estimate"]) == (SMALL.factor_vae_batch_size, SMALL.factor_vae_num_train,
                                                     SMALL.factor_vae_num_eval, SMALL.factor_vae_num_variance_estimate)
    beta_vae = result["beta_vae_score"]
    assert (beta_vae["batch_size"], beta_vae["num_train"], beta_vae["num_eval"]) == (
        SMALL.beta_vae_batch_size, SMALL.beta_vae_num_train, SMALL.beta_vae_num_eval)
    assert all(result[name]["seed"] == 0 for name in ("mig", "dci", "sap", "factor_vae_score", "beta_vae_score"))
    assert json.loads(json.dumps(result)) == result


def test_encode_never_sees_more_than_encode_batch_size_images():
    source, calls = GridFactors(), []
    settings = FactorMetricSettings(**{**vars(SMALL), "encode_batch_size": 100})

    def encode(images: Tensor) -> Tensor:
        calls.append(len(images))
        return identity_code(images)

    messages = []
    factor_metrics(source, encode, settings, seed=0, progress=messages.append)
    assert max(calls) <= 100 and source.largest_request <= 100
    assert len(messages) == 5 and messages[0].startswith("MIG")


def test_encoding_the_whole_grid_once_gives_the_numbers_of_encoding_every_sample():
    lookups = factor_metrics(GridFactors(), identity_code, FactorMetricSettings(**{**vars(SMALL),
                                                                                  "encode_whole_grid": True}), seed=4)
    per_sample = factor_metrics(GridFactors(), identity_code, SMALL, seed=4)
    assert lookups["codes"] != per_sample["codes"]
    for name in ("mig", "dci", "sap", "factor_vae_score", "beta_vae_score"):
        assert lookups[name] == per_sample[name], name


def test_code_without_active_dims_scores_zero_factor_vae_with_a_reason():
    settings = FactorMetricSettings(**{**vars(SMALL), "factor_vae_num_train": 10, "factor_vae_num_eval": 10})
    result = factor_metrics(GridFactors(), lambda images: torch.zeros(len(images), 3), settings, seed=0)
    factor_vae = result["factor_vae_score"]
    assert factor_vae["score"] == 0.0 and factor_vae["num_active_dims"] == 0
    assert "std" in factor_vae["reason"]


def test_factor_vae_prunes_dimensions_whose_std_is_below_five_hundredths():
    settings = FactorMetricSettings(**{**vars(SMALL), "factor_vae_num_train": 50, "factor_vae_num_eval": 50})
    scale = torch.tensor([1.0, 0.1, 0.03, 1.0])  # std 0.1 stays active although its variance 0.01 is below 0.05
    result = factor_metrics(GridFactors(), lambda images: identity_code(images) * scale, settings, seed=0)
    assert result["factor_vae_score"]["num_active_dims"] == 3
    assert result["factor_vae_score"]["dim_to_factor"][2] is None


# Errors.

@pytest.mark.parametrize("setting, value", [("mig_num_train", 0), ("dci_num_test", -5), ("factor_vae_batch_size", 1),
                                            ("mig_num_bins", 1), ("encode_batch_size", 0), ("sap_num_train", 2.5),
                                            ("dci_model", "xgboost"), ("dci_jobs", 0)])
def test_bad_settings_raise_config_error_naming_the_setting(setting, value):
    with pytest.raises(ConfigError, match=setting):
        FactorMetricSettings(**{setting: value})


def test_data_without_factors_raises_data_error_naming_the_data():
    with pytest.raises(DataError, match="data=mnist has no known generative factors.*data=dsprites"):
        factor_metrics(NoFactors(), identity_code, SMALL, seed=0, data_name="mnist")


def test_encode_returning_the_wrong_shape_is_reported():
    with pytest.raises(ValueError, match="one code vector per image"):
        factor_metrics(GridFactors(), lambda images: identity_code(images)[:1], SMALL, seed=0)


def test_factor_with_a_single_value_raises_data_error():
    with pytest.raises(DataError, match="x"):
        factor_metrics(GridFactors(sizes=(3, 6, 1)), identity_code, SMALL, seed=0)


def test_mig_matches_a_direct_computation_with_sklearn_mutual_info_score():
    generator = torch.Generator().manual_seed(5)
    factors = GridFactors().factor_space.sample(3000, generator).numpy()
    codes = np.random.default_rng(5).normal(size=(3000, 2)) + factors[:, :1]
    result = mig(codes, factors, 20, NAMES)
    binned = [np.digitize(codes[:, d], np.histogram(codes[:, d], 20)[1][:-1]) for d in range(2)]
    expected = []
    for k in range(len(SIZES)):
        information = sorted((mutual_info_score(factors[:, k], b) for b in binned), reverse=True)
        expected.append((information[0] - information[1]) / mutual_info_score(factors[:, k], factors[:, k]))
    assert result["score"] == pytest.approx(np.mean(expected), abs=1e-12)
