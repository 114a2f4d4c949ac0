"""Damaged files in run folders (a truncated or empty metrics.json, a garbage failure.json, a bad config.yaml, files
of the wrong shape) make only their own point failed when a sweep is collected, naming the file and what is wrong
(README "Reliability")."""

import pytest

from tests.report_helpers import GARBAGE, damaged_sweep, make_run, write_multirun_yaml
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import FAILED, FINISHED, collect
from vae_lightning.reporting.table import table_rows

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
    assert "metrics.json has no test results (its 'test' is None" in runs["point6"].error
    assert "metrics.json has no test results (its 'test' is 'oops'" in runs["point7"].error
    assert "metrics.json holds a non-finite number at test.neg_elbo, which train never writes" in runs["point8"].error
    assert "config.yaml gives model.beta='abc', not a number" in runs["point9"].error


def test_wrong_shaped_files_still_give_a_table_with_their_rows_failed_and_empty(tmp_path, capsys):
    sweep = collect(damaged_sweep(tmp_path), BETA)
    rows = {row["run_dir"]: row for row in table_rows(sweep)}
    assert [rows[f"point{index}"]["neg_elbo"] for index in range(6, 10)] == [None] * 4
    assert rows["point9"]["axis_value"] is None
    assert capsys.readouterr().out.count("Unreadable run") == len(GARBAGE)


@pytest.mark.parametrize(("content", "problem"), [
    ("{}", "is empty"),
    ('{"active_units": {"count": 2, "dims": "all"}}', "has active_units.dims = 'all', not a list"),
    ('{"iwae": 3}', "has iwae = 3, not an object"),
])
def test_an_analysis_of_the_wrong_shape_counts_as_no_analysis_and_says_why(tmp_path, capsys, content, problem):
    run = make_run(tmp_path / "a", beta=1, seed=0, analysis={})
    (run / "analysis" / "metrics.json").write_text(content)
    (collected,) = collect(tmp_path, BETA).runs
    assert collected.status == FINISHED and collected.analysis is None
    assert f"{run / 'analysis' / 'metrics.json'} {problem}" in capsys.readouterr().out


def test_a_garbage_multirun_yaml_lists_the_runs_found_and_says_points_are_unknown(tmp_path, capsys):
    make_run(tmp_path / "a", beta=1, seed=0)
    (tmp_path / "multirun.yaml").write_text("- garbage\n- [1, 2\n")
    (run,) = collect(tmp_path, BETA).runs
    assert run.status == FINISHED
    assert "multirun.yaml cannot be read as Hydra's record of the sweep (ParserError)" in capsys.readouterr().out


def test_a_failed_nan_point_is_counted_once(tmp_path):
    write_multirun_yaml(tmp_path, ["model.beta=1,nan"])
    make_run(tmp_path / "model.beta=1", beta=1, seed=0)
    make_run(tmp_path / "model.beta=nan", beta=float("nan"), seed=0, status="failed",
             overrides=["model.beta=nan"])
    assert sorted(run.status for run in collect(tmp_path, BETA).runs) == ["failed", "finished"]
