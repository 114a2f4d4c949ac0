"""The seams, as docs/extending.md promises them: a model and a dataset defined only in the test suite, chosen by
config files outside the package, train, are analysed and are reported, with no edit to a package file."""

import json
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import run_cli

MODEL_CONFIG = """\
defaults:
  - conv_vae
  - _self_

_target_: tests.extending_example.FreeBitsVAE
free_bits: 0.25
latent_dim: 4
channels: [4, 8]
hidden_dim: 16
"""

DATA_CONFIG = """\
defaults:
  - /shared/data@_here_
  - _self_

_target_: tests.extending_example.BarsDataModule
name: bars
num_train: 128
num_test: 48
batch_size: 32
eval_batch_size: 48
"""

QUICK = ["trainer.max_epochs=2", "trainer.enable_progress_bar=false", "callbacks.latent_panels.num_images=4",
         "callbacks.latent_panels.num_samples=4", "analyze=true",
         'analysis=["iwae.num_samples=3","iwae.num_images=16","traversal.num_base_images=2"]']


GAN_CONFIG = """\
_target_: tests.extending_example.TinyGAN
noise_dim: 8
hidden: 32
"""


def _write_configs(project: Path) -> None:
    (project / "conf" / "model").mkdir(parents=True)
    (project / "conf" / "data").mkdir(parents=True)
    (project / "conf" / "model" / "free_bits.yaml").write_text(MODEL_CONFIG)
    (project / "conf" / "model" / "tiny_gan.yaml").write_text(GAN_CONFIG)
    (project / "conf" / "data" / "bars.yaml").write_text(DATA_CONFIG)


def test_a_model_and_dataset_from_outside_the_package_train_analyse_and_report(tmp_path):
    _write_configs(tmp_path)
    result = run_cli("vae_lightning.train", "-m", "model=free_bits", "data=bars", "model.beta=1,4", *QUICK,
                     "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    for point in ("model.beta=1", "model.beta=4"):
        run = tmp_path / "sweep" / point
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["model"] == "tests.extending_example.FreeBitsVAE"
        assert metrics["hparams"]["free_bits"] == 0.25
        test = metrics["test"]
        # The model's own term reaches metrics.json, and its loss is the one it defines.
        assert test["free_bits_kl"] >= 4 * 0.25 - 1e-6 and test["free_bits_kl"] >= test["kl"] - 1e-4
        beta = metrics["hparams"]["beta"]
        assert abs(test["loss"] - (test["recon"] + beta * test["free_bits_kl"])) < 1e-3 * test["loss"]
        analysis = json.loads((run / "analysis" / "metrics.json").read_text())
        assert analysis["model"] == "tests.extending_example.FreeBitsVAE"
        assert analysis["objective"]["free_bits_kl"] >= 1.0 - 1e-6
        assert "KL with every dimension held at ≥ λ nats" in (run / "analysis" / "summary.md").read_text()
        assert (run / "analysis" / "samples.png").is_file()

    refused = run_cli("vae_lightning.report", "sweep=sweep", cwd=tmp_path)
    assert refused.returncode == 0
    assert "trusted_packages=[tests]" in (tmp_path / "sweep" / "report" / "summary.md").read_text()

    result = run_cli("vae_lightning.report", "sweep=sweep", "trusted_packages=[tests]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = tmp_path / "sweep" / "report"
    assert "free_bits_kl" in (report / "runs.md").read_text()
    assert "free_bits_kl_mean" in (report / "by_beta.csv").read_text().splitlines()[0]
    assert "Left out of the pictures" not in (report / "summary.md").read_text()
    assert (report / "traversals_by_beta.png").is_file()


def test_a_model_that_is_not_a_vae_trains_on_the_same_engine_with_its_own_two_optimisers(tmp_path):
    _write_configs(tmp_path)
    result = run_cli("vae_lightning.train", "model=tiny_gan", "data=bars", "trainer.max_epochs=2",
                     "trainer.enable_progress_bar=false", "callbacks.latent_panels.num_samples=4",
                     "hydra.run.dir=gan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "gan" / "metrics.json").read_text())
    assert metrics["model"] == "tests.extending_example.TinyGAN" and metrics["likelihood"] is None
    assert set(metrics["test"]) == {"loss", "discriminator_loss"}
    assert metrics["global_step"] == 2 * 2 * 4  # two optimiser steps per batch: 4 batches of 32, 2 epochs
    events = EventAccumulator(str(tmp_path / "gan"), size_guidance={"images": 0}).Reload()
    assert "images/samples" in events.Tags()["images"]
    analysed = run_cli("vae_lightning.analyze", "run=gan", "trusted_packages=[tests]", cwd=tmp_path)
    assert analysed.returncode == 0, analysed.stderr[-3000:]
    assert "has no encoder: its samples are measured" in analysed.stdout
    sample_quality = json.loads((tmp_path / "gan" / "analysis" / "metrics.json").read_text())["sample_quality"]
    assert sample_quality["num_samples"] == 48 and sample_quality["fid"] > 0  # all 48 test images of data=bars
    assert 0 <= sample_quality["precision"] <= 1 and (tmp_path / "gan" / "analysis" / "samples.png").is_file()
