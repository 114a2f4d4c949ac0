"""What happens outside the training loop, through the real CLI (issue 26, items 10 and 12): SIGTERM at the start of
the test, during `train analyze=true`, `analyze` and `report` exits 2 with the command that continues, as a preempted
training does; a read-only run or sweep is refused before any work, naming the fix."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TINY_RUN, run_cli

FAST_ANALYSIS = 'analysis=["iwae.num_samples=5","iwae.convergence.num_samples=[5]"]'


@pytest.fixture(scope="module")
def trained_sweep(tiny_data_root, tmp_path_factory) -> Path:
    """A folder holding one finished run, `point`, without an analysis."""
    root = tmp_path_factory.mktemp("outside")
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                     "hydra.run.dir=sweep/point", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "sweep"


def sigterm_when(line_start: str, module: str, *overrides: str, cwd: Path) -> tuple[int, str]:
    """Run `python -m <module> <overrides>`, send SIGTERM once a stdout line starts with `line_start`; returns the
    exit status and stderr."""
    env = {key: value for key, value in os.environ.items() if key != "VAE_LIGHTNING_DATA"}
    env.update(XDG_CACHE_HOME=str(cwd / "cache"), PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-m", module, *overrides], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in process.stdout:
        if line.startswith(line_start):
            process.send_signal(signal.SIGTERM)
            break
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def test_sigterm_at_test_start_and_during_the_analysis_is_a_preemption_and_the_resume_finishes(tiny_data_root,
                                                                                             tmp_path):
    command = [*TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1", "hydra.run.dir=run", "analyze=true",
               FAST_ANALYSIS]
    fault = ["+callbacks.fault._target_=tests.fault_injection.SignalAtTestStart",
             f"+callbacks.fault.marker={tmp_path / 'fired'}", "+callbacks.fault.signal_name=SIGTERM"]
    result = run_cli("vae_lightning.train", *command, *fault, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "stopped by SIGTERM" in result.stderr and f"resume={tmp_path / 'run'}" in result.stderr
    assert json.loads((tmp_path / "run" / "failure.json").read_text())["error_type"] == "PreemptedError"
    assert not (tmp_path / "run" / "metrics.json").exists()

    status, stderr = sigterm_when("Analysing ", "vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert status == 2 and "stopped by SIGTERM" in stderr and "Traceback" not in stderr, stderr[-3000:]
    assert json.loads((tmp_path / "run" / "failure.json").read_text())["error_type"] == "PreemptedError"

    result = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "metrics.json").exists() and (tmp_path / "run" / "analysis" / "metrics.json").exists()


def test_sigterm_during_analyze_exits_2_with_the_command_that_continues(trained_sweep, tmp_path):
    run = shutil.copytree(trained_sweep / "point", tmp_path / "run")
    status, stderr = sigterm_when("  encoding (", "vae_lightning.analyze", f"run={run}", "iwae.num_samples=5",
                                  cwd=tmp_path)
    assert status == 2, stderr[-3000:]
    assert "analyze was stopped by SIGTERM" in stderr and "Traceback" not in stderr
    assert f"Continue with the same command: python -m vae_lightning.analyze run={run}" in stderr


def test_sigterm_during_report_exits_2_with_the_command_that_continues(trained_sweep, tmp_path):
    sweep = shutil.copytree(trained_sweep, tmp_path / "sweep")
    status, stderr = sigterm_when("Analysing 1/1", "vae_lightning.report", f"sweep={sweep}", FAST_ANALYSIS,
                                  cwd=tmp_path)
    assert status == 2, stderr[-3000:]
    assert "report was stopped by SIGTERM" in stderr and "Traceback" not in stderr
    assert "analyses that finished are kept" in stderr


@pytest.fixture
def read_only(tmp_path):
    """Make a folder read-only for this process: a read-only bind mount when running as root (root ignores
    permission bits), else its permission bits."""
    mounted = []

    def make(folder: Path) -> Path:
        if os.geteuid() != 0:
            for path in [folder, *folder.rglob("*")]:
                path.chmod(path.stat().st_mode & ~0o222)
            return folder
        if shutil.which("mount") is None or subprocess.run(
                ["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root without the right to bind-mount: a read-only folder cannot be made")
        mounted.append(folder)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder), str(folder)], check=True)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


def test_analyze_and_report_on_a_read_only_copy_are_refused_before_any_work(trained_sweep, tmp_path, read_only):
    sweep = read_only(shutil.copytree(trained_sweep, tmp_path / "sweep"))
    result = run_cli("vae_lightning.analyze", f"run={sweep / 'point'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"The analysis writes into {sweep / 'point' / 'analysis'}, but {sweep / 'point'} cannot be written" \
           in result.stderr and "analyse a copy" in result.stderr
    result = run_cli("vae_lightning.report", f"sweep={sweep}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"The report writes into {sweep}" in result.stderr and "report a copy" in result.stderr
