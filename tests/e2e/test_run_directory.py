"""One run directory, one training: the lock, configs that a refused command never overwrites, redo keeping the old
config and log, refusals of another model or thread count, and recovery from what a kill leaves on disk (a stale
temporary file, a damaged last.ckpt or metrics.json). Each test drives the real CLI (README "Reliability")."""

import json
import os

import pytest

from tests.conftest import TINY_RUN, run_cli
from vae_lightning.engine.checkpoint_schema import FIT_SECONDS_KEY
from vae_lightning.runs.checkpoint_files import load_checkpoint
from vae_lightning.runs.lock import run_lock

ONE_EPOCH = [*TINY_RUN, "trainer.max_epochs=1", "threads=1"]


@pytest.fixture
def finished_run(tiny_data_root, tmp_path):
    """A finished one-epoch run in `tmp_path/run` and the command that trained it."""
    command = [*ONE_EPOCH, f"data.root={tiny_data_root}"]
    result = run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "run", command


def test_a_second_training_into_a_busy_run_directory_is_refused_naming_the_holder(tiny_data_root, tmp_path):
    with run_lock(tmp_path / "run"):  # this test process is the other training
        result = run_cli("vae_lightning.train", *ONE_EPOCH, f"data.root={tiny_data_root}", "hydra.run.dir=run",
                         cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"is in use by another training (pid {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing of the refused run: Hydra opens train.log before the job starts, but nothing is logged into it.
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [".lock", "train.log"]
    assert (tmp_path / "run" / "train.log").read_text() == ""


def test_refused_commands_leave_the_run_and_its_config_untouched(finished_run, tmp_path):
    run_dir, command = finished_run
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    metrics = (run_dir / "metrics.json").read_text()
    refusals = {
        "model.beta=4": "model.beta: run 1.0 vs command 4",  # a finished run rerun with other settings
        "model=cvae": "trained the model vae_lightning.models.beta_vae.BetaVAE, but this command asks for",
        "threads=2": "trained with 1 CPU thread(s) and this command would continue it with 2",
    }
    for override, message in refusals.items():
        result = run_cli("vae_lightning.train", *command, override, "resume=run", cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (override, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
        assert (run_dir / ".hydra" / "config.yaml").read_text() == config
        assert (run_dir / "metrics.json").read_text() == metrics
        assert not (run_dir / "failure.json").exists()  # a refusal is no failure of the finished run
        assert "This command changed nothing in" in result.stderr and "recorded in" not in result.stderr

    (run_dir / "metrics.json").unlink()  # as if killed after its last checkpoint: a refused resume
    result = run_cli("vae_lightning.train", *command, "model.beta=4", "resume=run", cwd=tmp_path)
    assert result.returncode == 2 and "model.beta: run 1.0 vs command 4" in result.stderr
    assert (run_dir / ".hydra" / "config.yaml").read_text() == config


def test_redo_keeps_the_old_config_and_log_with_the_old_outputs(finished_run, tmp_path):
    run_dir, command = finished_run
    config, log = (run_dir / ".hydra" / "config.yaml").read_text(), (run_dir / "train.log").read_text()
    result = run_cli("vae_lightning.train", *command, "model.beta=4", "resume=run", "redo=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (previous,) = run_dir.glob("previous-*")
    assert (previous / ".hydra" / "config.yaml").read_text() == config
    assert (previous / "train.log").read_text() == log and log
    assert "beta: 4" in (run_dir / ".hydra" / "config.yaml").read_text()
    assert not (run_dir / "train.log").read_text().startswith(log)
    assert json.loads((run_dir / "metrics.json").read_text())["hparams"]["beta"] == 4
    # The old curves move aside too, and show in TensorBoard as their own run, named previous-<time>.
    assert {path.parent for path in run_dir.rglob("events.out.tfevents.*")} == {run_dir, previous}


def test_a_run_continued_after_its_training_finished_keeps_the_fit_time_of_its_checkpoint(finished_run, tmp_path):
    run_dir, command = finished_run
    fitted = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")[FIT_SECONDS_KEY]
    (run_dir / "metrics.json").unlink()  # as if killed while testing: the fit itself is done
    result = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from"] == "checkpoints/last.ckpt" and metrics["epochs_trained"] == 1
    assert metrics["fit_seconds"] > fitted  # the checkpoint's fit and this call's, not this call's alone


def test_leftovers_of_a_kill_are_cleaned_and_a_damaged_last_checkpoint_falls_back_to_best(finished_run, tmp_path):
    run_dir, command = finished_run
    checkpoints = run_dir / "checkpoints"
    (checkpoints / ".last.ckpt.k1ll3d.tmp").write_bytes(b"PK\x03\x04 partial")
    (checkpoints / "last.ckpt").write_bytes(b"")  # what a non-atomic write left when killed
    (run_dir / "metrics.json").write_text('{"test": {"neg_')  # damaged: the run counts as unfinished
    result = run_cli("vae_lightning.train", *command, "trainer.max_epochs=2", "resume=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Removed" in result.stdout and ".last.ckpt.k1ll3d.tmp" in result.stdout
    assert "metrics.json is damaged" in result.stdout
    assert "Cannot continue from" in result.stdout and "best-epoch000.ckpt instead" in result.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from"] == "checkpoints/best-epoch000.ckpt" and metrics["epochs_trained"] == 2
    assert not list(checkpoints.glob(".*.tmp"))


def test_sweeping_a_setting_that_does_not_name_the_point_folders_is_refused(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", "-m", *TINY_RUN, f"data.root={tiny_data_root}", "threads=1,2",
                     "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 2 and "threads=1,2 sweeps a setting that does not name" in result.stderr
    assert not (tmp_path / "sweep").exists()
