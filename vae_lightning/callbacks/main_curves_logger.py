"""The run's TensorBoard logger: Lightning's, with the Scalars tab opening on the objective's curves."""

from collections.abc import Mapping

from lightning.pytorch.loggers import TensorBoardLogger


def tensorboard_scalars(metrics: Mapping[str, float]) -> dict[str, float]:
    """Lightning's logged scalars as TensorBoard shows them: without `epoch` (a step-to-epoch map that opens the
    Scalars tab as its own card ahead of the curves) and with the learning rate (`lr-Adam`, a group of its own) among
    the training curves, as `train/lr-Adam`."""
    return {(f"train/{tag}" if tag.startswith("lr-") else tag): value
            for tag, value in metrics.items() if tag != "epoch"}


class MainCurvesLogger(TensorBoardLogger):
    """TensorBoard's Scalars tab opens its first three groups: with `tensorboard_scalars`, those are test, train and
    val (or report, test and train in a reported sweep), not `epoch` and `lr-Adam`."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        super().log_metrics(tensorboard_scalars(metrics), step)
