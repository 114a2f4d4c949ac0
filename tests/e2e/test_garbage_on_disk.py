"""Damaged files in run folders (a truncated or empty metrics.json, a garbage failure.json, a bad config.yaml) are
reported per point and never stop `report` (README "Reliability")."""

import csv

from tests.conftest import run_cli
from tests.report_helpers import GARBAGE, damaged_sweep


def test_report_survives_damaged_points_and_lists_them(tmp_path):
    sweep = damaged_sweep(tmp_path / "sweep")
    result = run_cli("vae_lightning.report", f"sweep={sweep}", "analyze_missing=false", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    with (sweep / "report" / "runs.csv").open(newline="") as handle:
        statuses = {row["run_dir"]: row["status"] for row in csv.DictReader(handle)}
    assert statuses == {"good": "finished", **{f"point{i}": "failed" for i in range(len(GARBAGE))}}
