"""Damaged files in run folders (a truncated or empty metrics.json, a garbage failure.json, a bad config.yaml) are
reported per point and never stop `report` or the end-of-sweep check (README "Reliability")."""

import csv

import pytest
from omegaconf import OmegaConf

from tests.conftest import run_cli
from tests.report_helpers import make_run
from vae_lightning.cli.run_guard import RunGuard
from vae_lightning.reporting.collect import FAILED, FINISHED, collect

GARBAGE = {
    "truncated metrics.json": ("metrics.json", '{"test": {"neg_elbo": 1'),
    "empty metrics.json": ("metrics.json", ""),
    "metrics.json holding a list": ("metrics.json", "[1, 2]"),
    "garbage failure.json": ("failure.json", "\x00\x01 not json"),
    "failure.json without an error": ("failure.json", "{}"),
    "bad config.yaml": (".hydra/config.yaml", "model: [unclosed"),
}


def _damaged_sweep(root):
    make_run(root / "good", beta=1, seed=0)
    for index, (relative, content) in enumerate(GARBAGE.values()):
        folder = make_run(root / f"point{index}", beta=2 + index, seed=0,
                          status="failed" if relative == "failure.json" else "finished")
        (folder / relative).write_text(content)
    return root


def test_each_damaged_file_makes_only_its_point_failed(tmp_path):
    runs = {run.path.name: run for run in collect(_damaged_sweep(tmp_path)).runs}
    assert runs["good"].status == FINISHED
    for index, name in enumerate(GARBAGE):
        run = runs[f"point{index}"]
        assert run.status == FAILED, name
        assert run.error, name
    assert "metrics.json is damaged" in runs["point0"].error
    assert "config.yaml or overrides.yaml cannot be read" in runs["point5"].error


def test_report_survives_damaged_points_and_lists_them(tmp_path):
    sweep = _damaged_sweep(tmp_path / "sweep")
    result = run_cli("vae_lightning.report", f"sweep={sweep}", "analyze_missing=false", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    with (sweep / "report" / "runs.csv").open(newline="") as handle:
        statuses = {row["run_dir"]: row["status"] for row in csv.DictReader(handle)}
    assert statuses == {"good": "finished", **{f"point{i}": "failed" for i in range(len(GARBAGE))}}


def test_end_of_sweep_check_lists_a_garbage_failure_json_and_exits_non_zero(tmp_path, capsys):
    make_run(tmp_path / "a", beta=1, seed=0, status="failed")
    (tmp_path / "a" / "failure.json").write_text("\x00 garbage")
    make_run(tmp_path / "b", beta=2, seed=0, status="failed")
    (tmp_path / "b" / "failure.json").write_text('{"error": ""}')
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)},
                                         "overrides": {"hydra": [], "task": ["model.beta=1,2"]}}})
    with pytest.raises(SystemExit) as stopped:
        RunGuard().on_multirun_end(config)
    assert stopped.value.code == 1
    listing = capsys.readouterr().err
    assert "2 sweep point(s) failed" in listing
    assert listing.count("failure.json is damaged or holds no error message") == 2
