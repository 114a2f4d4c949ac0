"""Faults injected into real training runs through the CLI, as `+callbacks.fault._target_=tests.fault_injection.X`.

Each fault fires once: it leaves a marker file, so rerunning the very same command continues instead of failing again.
"""

import os
import signal
from pathlib import Path

import lightning as L
import torch


class _OneShot(L.Callback):
    def __init__(self, step: int, marker: str) -> None:
        self.step = step
        self.marker = Path(marker)

    def _due(self, trainer: L.Trainer) -> bool:
        if trainer.global_step != self.step or self.marker.exists():
            return False
        self.marker.write_text(f"fired at step {trainer.global_step}\n")
        return True


class SignalAtStep(_OneShot):
    """Sends `signal_name` (SIGKILL, SIGINT, …) to the training process itself when `global_step` reaches `step`."""

    def __init__(self, step: int, marker: str, signal_name: str) -> None:
        super().__init__(step, marker)
        self.signal = signal.Signals[signal_name]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self._due(trainer):
            os.kill(os.getpid(), self.signal)


class PoisonWeightsAtStep(_OneShot):
    """Overwrites one weight with NaN before the batch at `step`, as a diverging optimiser would."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self._due(trainer):
            with torch.no_grad():
                next(pl_module.parameters()).view(-1)[0] = float("nan")
