"""Stops that are not kills, through the real CLI: SIGTERM in a sweep, a full disk, a diverged validation, and
epochs without validation (README "Reliability")."""

import json
import math

from tests.conftest import TINY_RUN, run_cli
from vae_lightning.runs.checkpoint_files import load_checkpoint
from vae_lightning.runs.loading import resolve_target

STEPS_PER_EPOCH = math.ceil(96 * 0.9 / 16)


def _fault(kind: str, marker, step: int | None = None, **extra: str) -> list[str]:
    options = {"step": step, "marker": marker, **extra} if step is not None else extra
    return [f"+callbacks.fault._target_=tests.fault_injection.{kind}",
            *(f"+callbacks.fault.{key}={value}" for key, value in options.items())]


def test_sigterm_stops_one_sweep_point_and_the_others_still_run(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", "-m", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                     "model.beta=1,2", "hydra.sweep.dir=sweep",
                     *_fault("SignalAtStep", tmp_path / "fired", step=2, signal_name="SIGTERM"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "1 sweep point(s) failed" in result.stderr and "stopped by SIGTERM" in result.stderr
    failure = json.loads((tmp_path / "sweep" / "model.beta=1" / "failure.json").read_text())
    assert failure["error_type"] == "PreemptedError" and "resume=" in failure["error"]
    assert (tmp_path / "sweep" / "model.beta=2" / "metrics.json").is_file()


def test_a_full_disk_is_one_clear_error_and_leaves_only_loadable_checkpoints(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "hydra.run.dir=run",
                     *_fault("FullDiskAtStep", tmp_path / "fired", step=STEPS_PER_EPOCH + 1), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("Error:") == 1 and "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((tmp_path / "run" / "failure.json").read_text())["error_type"] == "StorageError"
    checkpoints = tmp_path / "run" / "checkpoints"
    assert not list(checkpoints.glob(".*.tmp"))
    assert [load_checkpoint(path)["epoch"] for path in sorted(checkpoints.glob("*.ckpt"))] == [0, 0]
    assert load_checkpoint(resolve_target(tmp_path / "run").checkpoint_path)["epoch"] == 0  # what analyze picks
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_nan_validation_is_never_kept_as_best_and_fails_the_run(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                     "hydra.run.dir=run", *_fault("PoisonWeightsBeforeValidation", None), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "No validation score of this run was finite" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "run" / "checkpoints").glob("best-*.ckpt"))
    assert json.loads((tmp_path / "run" / "failure.json").read_text())["error_type"] == "TrainingDivergedError"
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_epochs_without_validation_still_write_last_ckpt(tiny_data_root, tmp_path):
    command = [*TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=3", "trainer.check_val_every_n_epoch=2",
               *_fault("SignalAtStep", tmp_path / "fired", step=STEPS_PER_EPOCH + 2, signal_name="SIGKILL")]
    killed = run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path)
    assert killed.returncode < 0
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["epoch"] == 0  # epoch 1 had no validation
    resumed = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["epochs_trained"], metrics["global_step"]) == (3, 3 * STEPS_PER_EPOCH)
