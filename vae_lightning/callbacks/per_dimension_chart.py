"""Per-dimension terms (KL per latent dimension, …) in TensorBoard as one bar chart per epoch: one card whose step
slider shows how the rate spreads over the dimensions, instead of one scalar card per dimension."""

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from torch import Tensor

from vae_lightning.analysis.plots import figure_to_image_tensor

STAGE_NAMES = {"val": "validation", "test": "test"}


def per_dimension_bar_chart(values: Tensor, title: str) -> Figure:
    """Bars in dimension order (so epochs compare like for like), each labelled z<d>, sized to read at card size."""
    figure = Figure(figsize=(max(4.0, 0.22 * len(values) + 1.2), 2.6))
    axes = figure.subplots()
    axes.bar(range(len(values)), values.tolist(), color="tab:blue")
    axes.set_xticks(range(len(values)), [f"z{d}" for d in range(len(values))], rotation=90, fontsize=7)
    axes.set_xlim(-0.6, len(values) - 0.4)
    axes.set_ylabel("nats per image")
    axes.set_title(title, fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    return figure


class PerDimensionChart(L.Callback):
    """Logs `{stage}/<term>` images (e.g. `val/kl_per_dim`) at every validation epoch and once for the test."""

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._log(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module, "test")

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        terms = pl_module.per_dimension_terms(stage)  # on every process: the means are reduced across them
        loggers = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        if not loggers or not trainer.is_global_zero:
            return
        for name, values in terms.items():
            epoch = trainer.current_epoch + 1
            title = f"{STAGE_NAMES[stage]} {name.replace('_', ' ')}, epoch {epoch}: {values.sum():.2f} nats in all"
            image = figure_to_image_tensor(per_dimension_bar_chart(values.cpu(), title))
            for logger in loggers:
                logger.experiment.add_image(f"{stage}/{name}", image, global_step=trainer.global_step)
