"""The training callbacks that shape what a person sees: the logging interval of short epochs, the exit status of a
Ctrl-C, TensorBoard's scalar tags, the traversal rows kept across a resume, the test chart's epoch and
the prior the sample panel draws from."""

from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from vae_lightning.callbacks import LatentPanels, PerDimensionChart, ctrl_c_exit_status
from vae_lightning.callbacks.interruption import CTRL_C_EXIT_STATUS
from vae_lightning.callbacks.logging_interval import interval_for
from vae_lightning.callbacks.main_curves_logger import tensorboard_scalars
from vae_lightning.models import BetaVAE, VampPrior


@pytest.mark.parametrize(("batches", "configured", "expected"), [
    (6, 50, 1), (15, 50, 2), (49, 50, 5), (50, 50, 50), (400, 50, 50), (6, 0, 0),
])
def test_an_epoch_shorter_than_the_logging_interval_logs_about_ten_times(batches, configured, expected):
    assert interval_for(batches, configured) == expected


def test_ctrl_c_ends_with_status_130_and_sigterm_and_other_exits_keep_theirs():
    interrupted = SimpleNamespace(interrupted=True)
    with pytest.raises(SystemExit) as stopped, ctrl_c_exit_status(interrupted):
        raise SystemExit(1)  # what Lightning raises after a KeyboardInterrupt
    assert stopped.value.code == CTRL_C_EXIT_STATUS == 130
    with pytest.raises(SIGTERMException), ctrl_c_exit_status(interrupted):
        raise SIGTERMException(1)
    with pytest.raises(SystemExit) as other, ctrl_c_exit_status(SimpleNamespace(interrupted=False)):
        raise SystemExit(1)
    assert other.value.code == 1


def test_tensorboard_drops_the_epoch_card_and_files_the_learning_rate_with_training():
    logged = {"epoch": 3, "lr-Adam": 1e-3, "train/loss_step": 5.0, "val/loss": 4.0}
    assert tensorboard_scalars(logged) == {"train/lr-Adam": 1e-3, "train/loss_step": 5.0, "val/loss": 4.0}


def test_traversal_rows_are_restored_from_the_checkpoint_instead_of_chosen_again():
    before = LatentPanels(traversal_dims=3)
    before._dims = [17, 3, 9]
    after = LatentPanels(traversal_dims=3)
    after.load_state_dict(before.state_dict())
    assert after._dims == [17, 3, 9]


class _Logger:
    """Stands in for TensorBoardLogger, which the chart callback picks its loggers by (patched in below)."""


def _chart_titles(monkeypatch, loaded_epoch: int | None, current_epoch: int) -> list[str]:
    titles = []
    monkeypatch.setattr("vae_lightning.callbacks.per_dimension_chart.per_dimension_bar_chart",
                        lambda values, title: titles.append(title) or title)
    monkeypatch.setattr("vae_lightning.callbacks.per_dimension_chart.card_image", lambda figure: figure)
    monkeypatch.setattr("vae_lightning.callbacks.per_dimension_chart.TensorBoardLogger", _Logger)
    logger = _Logger()
    logger.experiment = SimpleNamespace(add_image=lambda *args, **kwargs: None)
    trainer = SimpleNamespace(loggers=[logger], is_global_zero=True, current_epoch=current_epoch, global_step=6)
    module = SimpleNamespace(per_dimension_terms=lambda stage: {"kl_per_dim": torch.tensor([1.0, 2.0])})
    chart = PerDimensionChart()
    if loaded_epoch is not None:
        chart.on_load_checkpoint(trainer, module, {"epoch": loaded_epoch})
    chart.on_test_epoch_end(trainer, module)
    return titles


def test_the_test_chart_names_the_epoch_of_the_checkpoint_it_tested_counted_from_one(monkeypatch):
    # After a 1-epoch fit the trainer's current_epoch is 1; the best checkpoint was saved during epoch 0.
    assert _chart_titles(monkeypatch, loaded_epoch=0, current_epoch=1) == [
        "test kl per dim, epoch 1 (its checkpoint): 3.00 nats in all"]
    assert _chart_titles(monkeypatch, loaded_epoch=None, current_epoch=2) == [
        "test kl per dim, epoch 2: 3.00 nats in all"]


def _panel_draws(monkeypatch, model) -> torch.Tensor:
    """The prior draws the panel callback renders at the end of a validation epoch (rendering itself patched out)."""
    drawn = []
    monkeypatch.setattr("vae_lightning.callbacks.latent_panels.TensorBoardLogger", _Logger)
    monkeypatch.setattr(LatentPanels, "render", lambda self, model, images, labels, prior_z, *rest: drawn.append(
        prior_z) or {})
    logger = _Logger()
    logger.experiment = SimpleNamespace(add_image=lambda *args, **kwargs: None)
    datamodule = SimpleNamespace(fixed_batch=lambda split, n: (torch.zeros(n, 1, 8, 8), torch.zeros(n)),
                                 class_names=["a"])
    trainer = SimpleNamespace(sanity_checking=False, loggers=[logger], is_global_zero=True, datamodule=datamodule,
                              current_epoch=0, global_step=1)
    module = SimpleNamespace(model=model, per_dimension_terms=lambda stage: {"kl_per_dim": torch.ones(3)})
    LatentPanels(num_images=2, num_samples=4, traversal_dims=2, seed=5).on_validation_epoch_end(trainer, module)
    return drawn[0]


def test_the_sample_panel_draws_from_the_models_own_prior(monkeypatch):
    small = {"image_shape": [1, 8, 8], "latent_dim": 3, "channels": [4], "hidden_dim": 8}
    vamp = VampPrior(num_pseudo_inputs=2, **small).eval()
    with torch.no_grad():
        vamp.pseudo_input_params.fill_(0.9)  # a prior far from N(0, I): both pseudo-inputs encode alike
    expected = vamp.prior_sample(4, torch.Generator().manual_seed(5))
    assert torch.equal(_panel_draws(monkeypatch, vamp), expected)
    standard = BetaVAE(**small).eval()  # a standard-normal prior: the same draws as before the VampPrior existed
    before = torch.randn(4, 3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(_panel_draws(monkeypatch, standard), before)
