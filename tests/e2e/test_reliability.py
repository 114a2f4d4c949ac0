"""Faults injected into real CLI runs: kills, Ctrl-C, a diverging loss, bad configs, unwritable outputs, sweep
failures. Each test names the guarantee it checks (README "Reliability")."""

import json
import math
import signal

import pytest
import torch

from tests.conftest import TINY_RUN, run_cli
from vae_lightning.runs.checkpoint_files import load_checkpoint

STEPS_PER_EPOCH = math.ceil(96 * 0.9 / 16)
THREE_EPOCHS = [*TINY_RUN, "trainer.max_epochs=3", "model.beta=2"]


def _fault(kind: str, step: int, marker, **extra: str) -> list[str]:
    options = [f"+callbacks.fault.{key}={value}" for key, value in extra.items()]
    return [f"+callbacks.fault._target_=tests.fault_injection.{kind}", f"+callbacks.fault.step={step}",
            f"+callbacks.fault.marker={marker}", *options]


def _metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tiny_data_root, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("uninterrupted")
    result = run_cli("vae_lightning.train", *THREE_EPOCHS, f"data.root={tiny_data_root}", "hydra.run.dir=run",
                     cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return _metrics(cwd / "run")


@pytest.mark.parametrize(("signal_name", "exit_code"), [("SIGKILL", -signal.SIGKILL), ("SIGINT", 130), ("SIGTERM", 2)])
def test_a_killed_run_resumes_to_the_metrics_of_an_uninterrupted_one(signal_name, exit_code, uninterrupted,
                                                                      tiny_data_root, tmp_path):
    # Killed mid-way through the second epoch: only that partial epoch may be lost.
    command = [*THREE_EPOCHS, f"data.root={tiny_data_root}",
               *_fault("SignalAtStep", STEPS_PER_EPOCH + 3, tmp_path / "fired", signal_name=signal_name)]
    killed = run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path)
    assert killed.returncode == exit_code, killed.stderr[-3000:]
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["epoch"] == 0
    if signal_name in ("SIGINT", "SIGTERM"):
        assert "Continue with:" in killed.stderr and f"resume={tmp_path / 'run'}" in killed.stderr
    if signal_name == "SIGTERM":  # a cluster's preemption: a failure to continue, not a success
        assert json.loads((tmp_path / "run" / "failure.json").read_text())["error_type"] == "PreemptedError"
        assert "Traceback" not in killed.stderr

    resumed = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Continuing the interrupted run" in resumed.stdout
    metrics = _metrics(tmp_path / "run")
    assert metrics["resumed_from"] == "checkpoints/last.ckpt"
    assert (metrics["epochs_trained"], metrics["global_step"]) == (3, 3 * STEPS_PER_EPOCH)
    # Weights, optimiser, counters, batch order and sampling noise all restored: equal to float32 rounding.
    for key in ("neg_elbo", "recon", "kl", "loss"):
        assert metrics["test"][key] == pytest.approx(uninterrupted["test"][key], rel=1e-6, abs=1e-6), key
    assert metrics["test_kl_per_dim"] == pytest.approx(uninterrupted["test_kl_per_dim"], rel=1e-6, abs=1e-6)


def test_resuming_with_other_settings_is_refused_and_redo_starts_over(tiny_data_root, tmp_path):
    command = [*TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1"]
    assert run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    again = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert again.returncode == 0 and "already holds a finished run" in again.stdout

    (tmp_path / "run" / "metrics.json").unlink()  # as if killed after its last checkpoint
    other = run_cli("vae_lightning.train", *command, "model.beta=4", "resume=run", cwd=tmp_path)
    assert other.returncode == 2 and "model.beta: run 1.0 vs command 4" in other.stderr

    redo = run_cli("vae_lightning.train", *command, "model.beta=4", "resume=run", "redo=true", cwd=tmp_path)
    assert redo.returncode == 0, redo.stderr[-3000:]
    assert _metrics(tmp_path / "run")["hparams"]["beta"] == 4
    (previous,) = (tmp_path / "run").glob("previous-*")
    assert (previous / "checkpoints" / "last.ckpt").is_file()  # the earlier attempt is kept, not deleted


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", *THREE_EPOCHS, f"data.root={tiny_data_root}", "hydra.run.dir=run",
                     *_fault("PoisonWeightsAtStep", STEPS_PER_EPOCH + 2, tmp_path / "fired"), cwd=tmp_path)
    assert result.returncode == 2
    assert "the loss became nan" in result.stderr and "last.ckpt" in result.stderr
    assert "and the best epoch's in" in result.stderr  # the intact best checkpoint is offered too
    assert "(analyze it with checkpoint=best)" in result.stderr
    assert "Traceback" not in result.stderr
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert checkpoint["epoch"] == 0
    assert all(torch.isfinite(value).all() for value in checkpoint["state_dict"].values())
    failure = json.loads((tmp_path / "run" / "failure.json").read_text())
    assert failure["error_type"] == "TrainingDivergedError"
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.parametrize(("override", "expected"), [
    ("model.beta=-0.5", "model.beta=-0.5 is not allowed"),
    ("model.latent_dim=abc", "model.latent_dim='abc' is not allowed: it must be an integer"),
    ("+model.betta=2", "model.betta is not an argument"),
    ("hydra.run.dir=/proc/vae_lightning_run", "cannot be written"),
])
def test_bad_config_fails_before_any_directory_is_made(override, expected, tiny_data_root, tmp_path):
    run_dir = [] if override.startswith("hydra.run.dir") else ["hydra.run.dir=run"]
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", override, *run_dir,
                     cwd=tmp_path)
    assert result.returncode == 2 and expected in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache"]  # no run directory, no outputs/


def test_a_failing_sweep_point_is_recorded_and_the_others_finish_and_are_skipped_on_rerun(tiny_data_root,
                                                                                          tmp_path):
    command = ["-m", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1", "model.beta=-1,2",
               "hydra.sweep.dir=sweep"]
    first = run_cli("vae_lightning.train", *command, cwd=tmp_path)
    assert first.returncode == 1
    assert "1 sweep point(s) failed" in first.stderr and "model.beta=-1" in first.stderr
    assert f"hydra.sweep.dir={tmp_path / 'sweep'}" in first.stderr
    failure = json.loads((tmp_path / "sweep" / "model.beta=-1" / "failure.json").read_text())
    assert "model.beta=-1 is not allowed" in failure["error"]
    finished = _metrics(tmp_path / "sweep" / "model.beta=2")

    rerun = run_cli("vae_lightning.train", *command, cwd=tmp_path)
    assert rerun.returncode == 1 and "already holds a finished run" in rerun.stdout
    assert _metrics(tmp_path / "sweep" / "model.beta=2") == finished
