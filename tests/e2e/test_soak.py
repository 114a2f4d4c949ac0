"""The soak benchmark's main path on tiny data with 2 kill points: every point is resumed to the end and compared,
and the report gives the checkpointing overhead and the bit-identical count. Nothing here is timed."""

import re

from tests.e2e.test_benchmarks import figure, run_benchmark


def test_the_soak_resumes_each_kill_and_reports_identical_runs_and_checkpoint_overhead(tiny_data_root, tmp_path):
    report = run_benchmark("soak.py", "--points=2", f"--data-root={tiny_data_root}", f"--workdir={tmp_path / 'w'}",
                           cwd=tmp_path)
    assert len(re.findall(r"^point \d/2: SIG(KILL|TERM) after", report, flags=re.MULTILINE)) == 2
    figure(r"of which writing checkpoints ([0-9.]+) s", report)
    overhead = re.search(r"checkpointing overhead ([0-9.]+)% of fit", report)
    assert overhead and 0 < float(overhead.group(1)) < 100
    same, interrupted = map(int, re.search(r"after resuming: (\d+) of (\d+) interrupted runs", report).groups())
    assert same == interrupted  # the goal: every interrupted run ends as the uninterrupted one
    assert "DIFFERENT" not in report
