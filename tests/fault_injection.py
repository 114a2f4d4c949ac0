"""Faults injected into real training runs through the CLI, as `+callbacks.fault._target_=tests.fault_injection.X`.

Each fault fires once: it leaves a marker file, so rerunning the very same command continues instead of failing again.
"""

import errno
import os
import signal
from pathlib import Path

import lightning as L
import torch

from vae_lightning.atomic_files import write_atomic
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO


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
    """Sends `signal_name` (SIGKILL, SIGINT, …) to the training process itself when `global_step` reaches `step`.

    A SIGINT arrives as a terminal's Ctrl-C does, as Python's KeyboardInterrupt: a test runner started in the
    background (`cmd &` in a script) passes SIGINT on as ignored, and Python then installs no handler for it."""

    def __init__(self, step: int, marker: str, signal_name: str) -> None:
        super().__init__(step, marker)
        self.signal = signal.Signals[signal_name]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self._due(trainer):
            if self.signal == signal.SIGINT and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            os.kill(os.getpid(), self.signal)


class SignalAtTestStart(L.Callback):
    """Sends `signal_name` to the process itself as the test of the best checkpoint starts, once (a marker file)."""

    def __init__(self, marker: str, signal_name: str) -> None:
        self.marker = Path(marker)
        self.signal = signal.Signals[signal_name]

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.marker.exists():
            self.marker.write_text("fired at test start\n")
            os.kill(os.getpid(), self.signal)


class PoisonWeightsAtStep(_OneShot):
    """Overwrites one weight with NaN before the batch at `step`, as a diverging optimiser would."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self._due(trainer):
            with torch.no_grad():
                next(pl_module.parameters()).view(-1)[0] = float("nan")


class FullDiskCheckpointIO(AtomicCheckpointIO):
    """Writes the first bytes of a checkpoint, then fails as a full disk does."""

    def write_file(self, path: Path, data: memoryview) -> None:
        def fill(handle) -> None:
            handle.write(data[:64])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        write_atomic(path, fill)


class FullDiskAtStep(_OneShot):
    """From `step` on, every checkpoint write fails with ENOSPC (No space left on device)."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self._due(trainer):
            trainer.strategy.checkpoint_io = FullDiskCheckpointIO()


class PoisonWeightsBeforeValidation(L.Callback):
    """Overwrites one weight with NaN before every validation (not the sanity check): the validation loss is NaN."""

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            with torch.no_grad():
                next(pl_module.parameters()).view(-1)[0] = float("nan")


class SignalInTest(L.Callback):
    """Sends `signal_name` to the process itself at the start of the test's batch `batch`, once (`marker`)."""

    def __init__(self, batch: int, marker: str, signal_name: str) -> None:
        self.batch = batch
        self.marker = Path(marker)
        self.signal = signal.Signals[signal_name]

    def on_test_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int,
                            dataloader_idx: int = 0) -> None:
        if batch_idx == self.batch and not self.marker.exists():
            self.marker.write_text(f"fired at test batch {batch_idx}\n")
            os.kill(os.getpid(), self.signal)
