import math

import pytest
import torch

from vae_lightning.analysis.sample_quality.class_balance import label_entropies

CONFIDENT = 30.0  # a logit margin at which softmax is one-hot to within e^-30


def test_confident_balanced_predictions_have_full_class_entropy_and_no_sample_entropy():
    logits = torch.eye(4).repeat(25, 1) * CONFIDENT
    result = label_entropies(logits)
    assert result["class_entropy"] == pytest.approx(math.log(4))
    assert result["mean_sample_entropy"] == pytest.approx(0.0, abs=1e-9)
    assert result["max_entropy"] == pytest.approx(math.log(4))
    assert result["predicted_class_fractions"] == [0.25] * 4


def test_every_sample_of_one_class_has_no_class_entropy():
    logits = torch.zeros(100, 4)
    logits[:, 2] = CONFIDENT
    result = label_entropies(logits)
    assert result["class_entropy"] == pytest.approx(0.0, abs=1e-9)
    assert result["predicted_class_fractions"] == [0.0, 0.0, 1.0, 0.0]


def test_undecided_predictions_have_full_sample_entropy():
    assert label_entropies(torch.zeros(10, 5))["mean_sample_entropy"] == pytest.approx(math.log(5))
