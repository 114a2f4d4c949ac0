"""Per-dimension terms (KL per latent dimension, …) in TensorBoard as one bar chart per epoch: one card whose step
slider shows how the rate spreads over the dimensions, instead of one scalar card per dimension."""

from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from vae_lightning.analysis.plots import card_image, per_dimension_bar_chart

STAGE_NAMES = {"val": "validation", "test": "test"}


class PerDimensionChart(L.Callback):
    """Logs `{stage}/<term>` images (e.g. `val/kl_per_dim`) at every validation epoch and once for the test. Titles
    count epochs from 1, as the console does; the test's names the epoch of the checkpoint it tested."""

    def __init__(self) -> None:
        self._loaded_epoch: int | None = None  # the epoch, from 1, of the checkpoint the Trainer last loaded

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        self._loaded_epoch = checkpoint["epoch"] + 1  # saved during its epoch, counted from 0

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._loaded_epoch = None  # the checkpoint a resumed fit started from is no longer the weights

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._log(trainer, pl_module, "val", f"epoch {trainer.current_epoch + 1}")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Without a checkpoint the test uses the weights fitting ended with: those of the last epoch trained.
        tested = (f"epoch {self._loaded_epoch} (its checkpoint)" if self._loaded_epoch is not None
                  else f"epoch {trainer.current_epoch}")
        self._log(trainer, pl_module, "test", tested)

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str, when: str) -> None:
        terms = pl_module.per_dimension_terms(stage)  # on every process: the means are reduced across them
        loggers = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        if not loggers or not trainer.is_global_zero:
            return
        for name, values in terms.items():
            title = f"{STAGE_NAMES[stage]} {name.replace('_', ' ')}, {when}: {values.sum():.2f} nats in all"
            image = card_image(per_dimension_bar_chart(values.cpu(), title))  # tick labels legible on a card
            for logger in loggers:
                logger.experiment.add_image(f"{stage}/{name}", image, global_step=trainer.global_step)
