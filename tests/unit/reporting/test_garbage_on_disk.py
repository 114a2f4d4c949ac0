"""Damaged files in run folders (a truncated or empty metrics.json, a garbage failure.json, a bad config.yaml) make only
their own point failed when a sweep is collected (README "Reliability")."""

from tests.report_helpers import GARBAGE, damaged_sweep
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import FAILED, FINISHED, collect

BETA = SweepAxis("model.beta")


def test_each_damaged_file_makes_only_its_point_failed(tmp_path):
    runs = {run.path.name: run for run in collect(damaged_sweep(tmp_path), BETA).runs}
    assert runs["good"].status == FINISHED
    for index, name in enumerate(GARBAGE):
        run = runs[f"point{index}"]
        assert run.status == FAILED, name
        assert run.error, name
    assert "metrics.json is damaged" in runs["point0"].error
    assert "config.yaml or overrides.yaml cannot be read" in runs["point5"].error
