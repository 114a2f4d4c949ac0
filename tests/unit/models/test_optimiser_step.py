"""Who steps the optimiser: the model's own step in `training_step` where nothing needs Lightning's closure, with the
same result, and Lightning's loop for clipping, accumulation, schedulers and runs it trained before."""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vae_lightning.errors import ConfigError
from vae_lightning.models import VAELitModule
from vae_lightning.models.vae import OPTIMISATION_KEY

BATCHES_PER_EPOCH = 3


def _loader() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(10, 1, 8, 8, generator=generator)
    return DataLoader(TensorDataset(images, torch.zeros(10, dtype=torch.long)), batch_size=4)  # 4, 4, 2 images


def _model(cls: type[VAELitModule] = VAELitModule) -> VAELitModule:
    torch.manual_seed(0)
    return cls(image_shape=(1, 8, 8), latent_dim=2, channels=(4,), hidden_dim=8)


def _fit(model: VAELitModule, max_epochs: int = 2, ckpt_path: str | None = None, **trainer_settings) -> L.Trainer:
    torch.manual_seed(1)  # the reparameterisation noise
    trainer = L.Trainer(max_epochs=max_epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", **trainer_settings)
    trainer.fit(model, _loader(), ckpt_path=ckpt_path)
    return trainer


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_the_models_own_step_trains_to_exactly_the_weights_of_lightnings_loop(precision):
    own, lightnings = _model(), _model()
    own_trainer = _fit(own, precision=precision)
    # clipping at a norm no gradient reaches multiplies by exactly 1, and makes Lightning run its closure
    lightnings_trainer = _fit(lightnings, precision=precision, gradient_clip_val=1e9)
    assert not own.automatic_optimization and lightnings.automatic_optimization
    assert own_trainer.global_step == lightnings_trainer.global_step == 2 * BATCHES_PER_EPOCH
    torch.testing.assert_close(own.state_dict(), lightnings.state_dict(), rtol=0, atol=0)


class _WithScheduler(VAELitModule):
    def configure_optimizers(self):
        optimizer = super().configure_optimizers()
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)}


@pytest.mark.parametrize(("model_class", "settings", "steps"), [
    (VAELitModule, {"gradient_clip_val": 1.0}, 2 * BATCHES_PER_EPOCH),
    (VAELitModule, {"accumulate_grad_batches": 2}, 2 * 2),  # a step after batches 2 and 3 of each epoch
    (_WithScheduler, {}, 2 * BATCHES_PER_EPOCH),
])
def test_clipping_accumulation_and_schedulers_keep_lightnings_loop(model_class, settings, steps):
    model = _model(model_class)
    trainer = _fit(model, **settings)
    assert model.automatic_optimization and trainer.global_step == steps
    if model_class is _WithScheduler:
        assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(model.hparams.lr / 4)  # stepped twice


def _checkpoint_after_one_epoch(tmp_path, trained_by: str, keep_the_record: bool = True) -> str:
    model = _model()
    trainer = _fit(model, max_epochs=1, **({"gradient_clip_val": 1e9} if trained_by == "automatic" else {}))
    path = tmp_path / f"{trained_by}.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint[OPTIMISATION_KEY] == trained_by
    if not keep_the_record:
        del checkpoint[OPTIMISATION_KEY]  # as a checkpoint written before the choice existed
        torch.save(checkpoint, path)
    return str(path)


@pytest.mark.parametrize(("trained_by", "keep_the_record"), [("manual", True), ("automatic", True),
                                                             ("automatic", False)])
def test_a_run_resumes_with_the_step_it_was_trained_with(tmp_path, trained_by, keep_the_record):
    model = _model()
    trainer = _fit(model, ckpt_path=_checkpoint_after_one_epoch(tmp_path, trained_by, keep_the_record))
    assert model.automatic_optimization is (trained_by == "automatic")
    assert trainer.global_step == 2 * BATCHES_PER_EPOCH  # the step count carried on from the checkpoint


def test_a_run_the_model_stepped_itself_cannot_resume_with_clipping(tmp_path):
    checkpoint = _checkpoint_after_one_epoch(tmp_path, "manual")
    with pytest.raises(ConfigError, match="Resume it without \\+trainer.gradient_clip_val"):
        _fit(_model(), ckpt_path=checkpoint, gradient_clip_val=1.0)
