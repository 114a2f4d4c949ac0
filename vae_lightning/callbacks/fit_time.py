"""Carry the seconds of fitting through checkpoints, so a continued run's `fit_seconds` is the whole fit's.

Without it, metrics.json of a continued run gave only the last attempt's time: 0.24 s for a run whose training had
finished before its analysis failed and was resumed. Time spent after the last checkpoint of an interrupted attempt
is not counted: that work was lost and is done again, so the count is the time that produced the final weights.
"""

import time
from typing import Any

import lightning as L

from vae_lightning.engine.checkpoint_schema import FIT_SECONDS_KEY


class FitTimeInCheckpoints(L.Callback):
    """The clock starts when fitting sets up; a checkpoint of an earlier version (no count) adds nothing."""

    def __init__(self) -> None:
        self._earlier_seconds = 0.0
        self._started: float | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self._started = time.perf_counter()

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        self._earlier_seconds = float(checkpoint.get(FIT_SECONDS_KEY, 0.0))

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        checkpoint[FIT_SECONDS_KEY] = self.fit_seconds()

    def fit_seconds(self) -> float:
        """Seconds of fitting so far: the earlier attempts' (from the checkpoint continued) and this one's."""
        ongoing = time.perf_counter() - self._started if self._started is not None else 0.0
        return self._earlier_seconds + ongoing
