"""A continued run's fit time counts every attempt up to its checkpoint, not only the last call to fit."""

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from vae_lightning.callbacks import FitTimeInCheckpoints
from vae_lightning.engine.checkpoint_schema import FIT_SECONDS_KEY
from vae_lightning.engine.module import engine_for
from vae_lightning.models import BetaVAE

SMALL = {"image_shape": [1, 8, 8], "latent_dim": 2, "channels": [4], "hidden_dim": 8}
EARLIER_SECONDS = 1000.0  # far above what the tiny fits here take, so it cannot be met by chance


def _fit(tmp_path, clock: FitTimeInCheckpoints, max_epochs: int, ckpt_path=None) -> L.Trainer:
    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.rand(8, 1, 8, 8), torch.zeros(8, dtype=torch.long)), batch_size=4)
    trainer = L.Trainer(max_epochs=max_epochs, logger=CSVLogger(tmp_path), callbacks=[clock],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        accelerator="cpu")
    trainer.fit(engine_for(BetaVAE, **SMALL), loader, ckpt_path=ckpt_path, weights_only=True)
    return trainer


def test_a_checkpoint_carries_the_seconds_of_fitting_that_produced_it(tmp_path):
    clock = FitTimeInCheckpoints()
    trainer = _fit(tmp_path, clock, max_epochs=1)
    fitted = clock.fit_seconds()
    trainer.save_checkpoint(tmp_path / "saved.ckpt")
    saved = torch.load(tmp_path / "saved.ckpt", weights_only=True)[FIT_SECONDS_KEY]
    assert saved > 0 and abs(saved - fitted) < 1.0  # the save follows the fit at once


def test_continuing_adds_this_attempts_seconds_to_the_checkpoints(tmp_path):
    trainer = _fit(tmp_path, FitTimeInCheckpoints(), max_epochs=1)
    trainer.save_checkpoint(tmp_path / "first.ckpt")
    checkpoint = torch.load(tmp_path / "first.ckpt", weights_only=True)
    checkpoint[FIT_SECONDS_KEY] = EARLIER_SECONDS  # as if the first attempt had taken that long
    torch.save(checkpoint, tmp_path / "earlier.ckpt")

    continued = FitTimeInCheckpoints()
    _fit(tmp_path, continued, max_epochs=2, ckpt_path=tmp_path / "earlier.ckpt")
    assert EARLIER_SECONDS < continued.fit_seconds() < EARLIER_SECONDS + 60


def test_a_checkpoint_without_a_count_adds_nothing(tmp_path):
    trainer = _fit(tmp_path, FitTimeInCheckpoints(), max_epochs=1)
    trainer.save_checkpoint(tmp_path / "first.ckpt")
    checkpoint = torch.load(tmp_path / "first.ckpt", weights_only=True)
    del checkpoint[FIT_SECONDS_KEY]  # written before runs counted their fit time
    torch.save(checkpoint, tmp_path / "old.ckpt")

    continued = FitTimeInCheckpoints()
    _fit(tmp_path, continued, max_epochs=2, ckpt_path=tmp_path / "old.ckpt")
    assert 0 < continued.fit_seconds() < 60
