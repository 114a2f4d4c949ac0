"""Checkpoints of vae_lightning 0.1 (format 1: one LightningModule per model, flat hyper-parameters, weights at the
top level) read as the current format, so old runs analyse as before; continuing one is refused in one paragraph."""

from pathlib import Path

import pytest
import torch

from vae_lightning.engine.checkpoint_schema import (
    CLASSES_KEY,
    FORMAT_KEY,
    FORMAT_VERSION,
    as_current_format,
    check_resumable,
)
from vae_lightning.errors import CheckpointError
from vae_lightning.models import BetaTCVAE, BetaVAE, ConditionalVAE
from vae_lightning.runs.loading import restore_model

SMALL = {"image_shape": [1, 8, 8], "latent_dim": 3, "channels": [4], "hidden_dim": 8, "kernel_size": 4,
         "likelihood": "bernoulli", "gaussian_sigma": 0.1, "learn_sigma": False, "dequantize": True, "num_mixtures": 5}
# What 0.1's VAELitModule saved beside the network settings: β, its schedule and the optimiser.
FORMAT1_SETTINGS = {"beta": 4.0, "kl_schedule": "constant", "kl_warmup_steps": 0, "capacity_max": 0.0,
                    "capacity_steps": 0, "optimizer": "adamw", "lr": 5e-4, "weight_decay": 0.01}


def _format1(model: torch.nn.Module, recorded_class: str, own_settings: dict) -> dict:
    """A checkpoint laid out as 0.1 wrote it (checked against files 0.1 wrote: keys, classes, state names)."""
    return {"state_dict": model.state_dict(), "hyper_parameters": {**SMALL, **FORMAT1_SETTINGS, **own_settings},
            CLASSES_KEY: {"model": recorded_class,
                          "datamodule": "vae_lightning.data.mnist_family.MNISTFamilyDataModule"},
            "vae_lightning_optimisation": "manual", "epoch": 3, "global_step": 120}


@pytest.mark.parametrize(("model", "recorded", "own"), [
    (BetaVAE(beta=4.0, **SMALL), "vae_lightning.models.vae.VAELitModule", {}),
    (BetaVAE(beta=4.0, **SMALL), "VAELitModule", {}),  # written before import paths were recorded
    (ConditionalVAE(num_classes=3, beta=4.0, **SMALL), "vae_lightning.models.conditional.ConditionalVAELitModule",
     {"num_classes": 3, "conditioning": "onehot", "embedding_dim": 16}),
    (BetaTCVAE(beta=4.0, **SMALL), "vae_lightning.models.beta_tcvae.BetaTCVAELitModule",
     {"alpha": 1.0, "gamma": 1.0, "tc_estimator": "mss"}),
], ids=["vae", "vae-by-name", "cvae", "beta-tcvae"])
def test_a_format1_checkpoint_of_a_shipped_model_restores_the_same_model(model, recorded, own, tmp_path):
    model.eval()
    if isinstance(model, BetaTCVAE):
        model.dataset_size.fill_(1000)
    restored = restore_model(_format1(model, recorded, own), Path("old.ckpt"))
    assert type(restored) is type(model) and restored.hparams.beta == 4.0
    x, labels = torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    condition = model.condition(labels)
    assert torch.allclose(restored.encode(x, restored.condition(labels))[0], model.encode(x, condition)[0], atol=1e-6)


def test_the_conversion_moves_the_optimiser_settings_out_of_the_model():
    converted = as_current_format(_format1(BetaVAE(**SMALL), "VAELitModule", {}), "old.ckpt")
    assert converted[FORMAT_KEY] == FORMAT_VERSION
    assert converted["hyper_parameters"]["optimizer"] == {"_target_": "torch.optim.AdamW", "_partial_": True,
                                                          "lr": 5e-4, "weight_decay": 0.01}
    model_settings = converted["hyper_parameters"]["model"]
    assert model_settings["_target_"] == "vae_lightning.models.BetaVAE" and "lr" not in model_settings
    assert all(key.startswith("model.") for key in converted["state_dict"])


def test_continuing_a_format1_run_is_refused_naming_the_version():
    with pytest.raises(CheckpointError, match=r"vae_lightning 0\.1 \(checkpoint format 1\).*Finish the run"):
        check_resumable(_format1(BetaVAE(**SMALL), "VAELitModule", {}), "runs/a/checkpoints/last.ckpt")
    check_resumable(as_current_format(_format1(BetaVAE(**SMALL), "VAELitModule", {}), "x"), "x")  # format 2 passes


def test_a_format1_checkpoint_of_a_model_outside_the_package_gets_one_paragraph():
    with pytest.raises(CheckpointError, match=r"my_models\.FreeBits.*not one of the shipped models.*docs/extending"):
        as_current_format(_format1(BetaVAE(**SMALL), "my_models.FreeBits", {}), "old.ckpt")
