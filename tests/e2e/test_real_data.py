"""Training on the real FashionMNIST files, found through VAE_LIGHTNING_DATA (CI points it at ../shared/datasets)."""

import os

import lightning as L
import pytest

from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.engine.module import engine_for
from vae_lightning.models import BetaVAE

DATA_ROOT = os.environ.get("VAE_LIGHTNING_DATA")

pytestmark = pytest.mark.skipif(
    not DATA_ROOT, reason="VAE_LIGHTNING_DATA is not set: no real FashionMNIST to train on (CI sets it)"
)


def test_fashion_validation_neg_elbo_falls_well_below_its_start(tmp_path):
    L.seed_everything(0, verbose=False)
    datamodule = MNISTFamilyDataModule("fashion", root=DATA_ROOT, cache_dir=str(tmp_path / "cache"), download=False)
    model = engine_for(BetaVAE)
    trainer = L.Trainer(max_steps=150, limit_val_batches=4, num_sanity_val_steps=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
    (before,) = trainer.validate(model, datamodule=datamodule, verbose=False)
    trainer.fit(model, datamodule=datamodule)
    (after,) = trainer.validate(model, datamodule=datamodule, verbose=False)

    assert (datamodule.num_images("train"), datamodule.num_images("val"), datamodule.num_images("test")) == (
        54_000, 6_000, 10_000)
    # An untrained decoder outputs p ≈ 0.5 per pixel: about 784·ln 2 ≈ 543 nats; 150 steps reach well under 350.
    assert before["val/neg_elbo"] > 450
    assert after["val/neg_elbo"] < 0.65 * before["val/neg_elbo"]
