"""What labels the analysis panels: the factor each latent dimension predicts best, beside its traversal row."""

import pytest

from vae_lightning.analysis.panels import factor_notes


@pytest.mark.parametrize(("per_dimension", "expected"), [
    ([{"dim": 0, "factor": "pos_x", "importance_share": 0.93, "dim_importance": 0.4},
      {"dim": 1, "factor": "shape", "importance_share": 0.5, "dim_importance": 0.001}], {0: "pos_x (93%)"}),
    ([], {}),
])
def test_traversal_rows_are_labelled_with_the_factor_each_dimension_predicts_best(per_dimension, expected):
    assert factor_notes({"dci": {"per_dimension": per_dimension}}) == expected
    assert factor_notes(None) == {}
