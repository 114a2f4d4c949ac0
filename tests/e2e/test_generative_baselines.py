"""model=dcgan and model=ddpm through the real CLI on tiny data: killed mid-epoch, continued with resume=, and what
their metrics.json and TensorBoard hold."""

import json
import math

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import run_cli
from vae_lightning.runs.checkpoint_files import load_checkpoint

BATCHES_PER_EPOCH = math.ceil(96 * 0.9 / 16)
QUICK = ["data=fashion", "data.download=false", "data.batch_size=16", "data.eval_batch_size=32",
         "trainer.max_epochs=2", "trainer.enable_progress_bar=false", "callbacks.latent_panels.num_samples=4"]

# model, its tiny settings, the optimiser steps per batch, the test terms metrics.json must hold
BASELINES = [
    ("dcgan", ["model.latent_dim=8", "model.width=4"], 2,
     {"loss", "discriminator_loss", "real_probability", "fake_probability"}),
    ("ddpm", ["model.width=8", "model.timesteps=30", "model.sample_steps=3"], 1, {"loss", "bits_per_dim"}),
]


@pytest.mark.parametrize(("model", "settings", "steps_per_batch", "terms"), BASELINES)
def test_a_baseline_killed_mid_epoch_resumes_and_reports_its_own_numbers(model, settings, steps_per_batch, terms,
                                                                         tiny_data_root, tmp_path):
    kill_at = steps_per_batch * (BATCHES_PER_EPOCH + 2)  # two batches into the second epoch
    command = [f"model={model}", *settings, *QUICK, f"data.root={tiny_data_root}",
               "+callbacks.fault._target_=tests.fault_injection.SignalAtStep", f"+callbacks.fault.step={kill_at}",
               f"+callbacks.fault.marker={tmp_path / 'fired'}", "+callbacks.fault.signal_name=SIGKILL"]
    killed = run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path)
    assert killed.returncode < 0, killed.stderr[-3000:]
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["epoch"] == 0

    resumed = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["resumed_from"] == "checkpoints/last.ckpt"
    assert (metrics["epochs_trained"], metrics["global_step"]) == (2, 2 * BATCHES_PER_EPOCH * steps_per_batch)
    assert set(metrics["test"]) == terms and "neg_elbo" not in metrics["test"] and metrics["likelihood"] is None
    assert all(math.isfinite(value) for value in metrics["test"].values())
    assert set(metrics["term_descriptions"]) == terms
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"images": 0}).Reload()
    samples = events.Images("images/samples")
    assert len(samples) == 2 and samples[-1].step == metrics["global_step"]  # one grid per epoch, both attempts


@pytest.mark.parametrize(("model", "settings", "monitor"), [(*BASELINES[0][:2], None), (*BASELINES[1][:2], "val/loss")])
def test_dcgan_keeps_its_latest_epoch_and_ddpm_its_best_by_validation_loss(model, settings, monitor, tiny_data_root,
                                                                           tmp_path):
    result = run_cli("vae_lightning.train", f"model={model}", *settings, *QUICK, f"data.root={tiny_data_root}",
                     "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    checkpoint = load_checkpoint(tmp_path / "run" / metrics["checkpoint"])
    assert [key for key in checkpoint["callbacks"] if f"'monitor': {monitor!r}" in key]
    if monitor is None:
        assert metrics["checkpoint"] == "checkpoints/best-epoch001.ckpt"
