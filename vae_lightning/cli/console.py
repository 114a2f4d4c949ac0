"""What a person sees while a run trains: one start line, a progress display that shows the loss and the negative
ELBO, one closing summary, and nothing from third parties that says nothing to them.

Progress reads the values the logger last wrote (`trainer.logged_metrics`), so showing them adds no host read of a
device tensor between logger writes (benchmarks/step_overhead.py).
"""

import logging
import math
import os
import re
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm, convert_inf
from torch import nn

from vae_lightning.engine.precision import PrecisionChoice
from vae_lightning.models.contract import headline

# Lightning's messages that repeat what the start line says, or advertise: the device banner (printed once per
# Trainer), the LitLogger tip, the mixed-precision note (the start line names the precision), the routine notes on
# stopping, reloading the best checkpoint for the test and restoring a resumed run (train.py says "Continuing the
# interrupted run … from …"), and the Ctrl-C note (the resume hint says "Interrupted").
# "GPU available: True, used: False" is kept: it tells the user something they may want to change.
SILENCED_LIGHTNING_INFO = re.compile(
    r"(GPU available: False|GPU available: True \(\w+\), used: True|TPU available|HPU available|LOCAL_RANK|"
    r"💡 Tip|Using (bfloat16|16bit) Automatic Mixed Precision|`Trainer\.fit` stopped|"
    r"Restoring states from the checkpoint|Loaded model weights from|Restored all states from the checkpoint|"
    r"Detected KeyboardInterrupt)"
)
LIGHTNING_INFO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
SILENCED_WARNINGS = (
    # Lightning 2.6 under torch ≥ 2.10 warns about its own use of torch's pytree API: nothing a user can act on.
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    # A resumed run writes into its own checkpoints/ folder, which is meant to hold the checkpoints it continues.
    r"Checkpoint directory .* exists and is not empty",
    # Said in the project's words, with what is done about it, by callbacks.LoggingIntervalForShortEpochs.
    r"The number of training batches \(\d+\) is smaller than the logging interval",
)
# Evaluation terms the progress display and the start/closing lines show, in this order, with their labels.
SHOWN_TERMS = {"loss": "loss", "neg_elbo": "−ELBO"}
KL_DIMS_LISTED = 8


class _DropSilencedInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not SILENCED_LIGHTNING_INFO.match(record.getMessage().strip())


def silence_uninformative_messages() -> None:
    """Drop only the Lightning messages and warnings listed above; every other message still reaches the user."""
    for name in LIGHTNING_INFO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropSilencedInfo) for f in logger.filters):
            logger.addFilter(_DropSilencedInfo())
    for message in SILENCED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)


def start_line(model: nn.Module, dataset: str, trainer: L.Trainer, run_dir: Path,
               precision: PrecisionChoice) -> str:
    """One line that says what is trained, on what, how, and where its outputs go."""
    h = model.hparams
    described = headline(h)
    parameters = sum(p.numel() for p in model.parameters())
    device = type(trainer.accelerator).__name__.removesuffix("Accelerator").lower()
    epochs = (f"{trainer.max_steps} steps" if trainer.max_epochs == -1
              else f"{trainer.max_epochs} epoch{'s' * (trainer.max_epochs != 1)}")
    return (f"Training {type(model).__name__} ({', '.join([*described, f'{parameters / 1e6:.1f} M'])} "
            f"parameters) on {dataset}, {epochs}, {device}, precision {precision.describe()}. Run directory: {run_dir}")


def kl_per_dim_line(kl_per_dim: list[float]) -> str:
    """The per-dimension KL on one line, largest first, the tail folded into one number."""
    order = sorted(range(len(kl_per_dim)), key=lambda d: -kl_per_dim[d])
    listed = ", ".join(f"z{d} {kl_per_dim[d]:.2f}" for d in order[:KL_DIMS_LISTED])
    rest = order[KL_DIMS_LISTED:]
    tail = f"; {len(rest)} more with {sum(kl_per_dim[d] for d in rest):.2f} together" if rest else ""
    return f"KL per dimension (nats, largest first): {listed}{tail}"


def closing_summary(run_dir: Path, metrics: dict[str, Any]) -> str:
    """The lines printed when a run ends; the last two name the run directory and the test numbers."""
    test = metrics["test"]
    lines = [kl_per_dim_line(metrics["test_kl_per_dim"])] if "test_kl_per_dim" in metrics else []
    return "\n".join([
        *lines,
        f"Run directory: {run_dir}",
        f"Test ({metrics['num_test_images']} {metrics['dataset']} images, checkpoint {metrics['checkpoint']}): "
        + (f"negative ELBO {test['neg_elbo']:.2f} nats/image = reconstruction {test['recon']:.2f} + KL {test['kl']:.2f}"
           if "neg_elbo" in test else ", ".join(f"{name} {value:.4g}" for name, value in test.items())),
    ])


def free_cores() -> tuple[int, int, float]:
    """The cores this process may run on, how many of them the last minute's load leaves free, and that load."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = os.getloadavg()[0]
    return cores, max(0, math.floor(cores - load + 0.5)), load


def busy_cores_warning(threads: int, cores: int, free: int, load: float) -> str | None:
    """One line when more CPU threads are asked for than cores are free: torch's threads then wait for each other
    and for the other jobs (measured: threads=2 on a 2-core machine busy with other work trained 8x slower than
    threads=1)."""
    if threads <= max(free, 1):
        return None
    return (f"Warning: {threads} CPU threads, but only {free} of this machine's {cores} cores are free (load average "
            f"{load:.1f}): threads that wait for cores can make a step several times slower; threads={max(free, 1)} "
            "is likely faster.")


def tensorboard_hint(log_dir: Path) -> str:
    return f"See its curves and pictures with:\n  {shlex.join(['tensorboard', '--logdir', str(log_dir)])}"


class LatestLosses:
    """The loss and −ELBO the logger last wrote, as text; a value is read from its tensor once, when it is new."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[object, str]] = {}

    def __call__(self, trainer: L.Trainer) -> dict[str, str]:
        shown = {}
        for stage, suffix in (("train", "_step"), ("val", "")):
            for name, label in SHOWN_TERMS.items():
                tag = f"{stage}/{name}{suffix}"
                value = trainer.logged_metrics.get(tag)
                if value is None:
                    continue
                cached = self._texts.get(tag)
                if cached is None or cached[0] is not value:
                    cached = (value, f"{float(value):.1f}")
                    self._texts[tag] = cached
                shown[label if stage == "train" else f"val {label}"] = cached[1]
        return shown


def epoch_label(trainer: L.Trainer) -> str:
    """The epoch in progress counted from 1, as every line of the console counts it: `epoch 2/10`, or `epoch 2` when
    the budget is in steps alone."""
    total = "" if trainer.max_epochs == -1 else f"/{trainer.max_epochs}"
    return f"epoch {trainer.current_epoch + 1}{total}"


class BarWithLosses(TQDMProgressBar):
    """Lightning's progress bar, one kept line per epoch, with the latest training loss and −ELBO and the validation
    −ELBO beside it instead of Lightning's version number.

    Unlike Lightning's own bar it draws each batch once (Lightning redraws for the count, then again for the
    numbers), opens no bar before the first epoch (Lightning's leaves a `Training: 0/?` line behind), counts epochs
    from 1 like the log lines, and closes its bars when training is interrupted, so whatever is printed next (the
    resume hint) stays last on screen instead of being drawn over when the bar is closed at exit.
    """

    def __init__(self) -> None:
        super().__init__(leave=True)
        self.latest = LatestLosses()

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, str]:
        return self.latest(trainer)

    def on_train_start(self, *_: Any) -> None:
        self.train_progress_bar = Tqdm(disable=True)  # each epoch opens its own bar

    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        self.train_progress_bar = Tqdm(desc=epoch_label(trainer).capitalize(), total=convert_inf(
            self.total_train_batches), position=2 * self.process_position, disable=self.is_disabled, leave=True,
            dynamic_ncols=True, file=sys.stdout, smoothing=0, bar_format=self.BAR_FORMAT)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        bar = self.train_progress_bar
        if not bar.disable and self._should_update(batch_idx + 1, bar.total):
            bar.set_postfix(self.get_metrics(trainer, pl_module), refresh=False)
            bar.n = batch_idx + 1
            bar.refresh()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        for bar in (self._train_progress_bar, self._val_progress_bar):
            if bar is not None:
                bar.close()


class PlainProgress(ProgressBar):
    """Plain lines for a log file or a pipe, where a redrawn bar leaves escape codes: one line every tenth of an
    epoch (`lines_per_epoch`) and one when its validation ends. When the budget is in steps alone
    (trainer.max_epochs=-1 with trainer.max_steps), an epoch may outlast the run, so the lines count the run's
    optimiser steps instead: one every tenth of trainer.max_steps."""

    def __init__(self, lines_per_epoch: int = 10) -> None:
        super().__init__()
        self.lines_per_epoch = lines_per_epoch
        self.latest = LatestLosses()
        self._enabled = True
        self._counting_since = 0.0
        self._counted_from = 0
        self._next_line_at = 0
        self._told_when_losses_show = False

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @staticmethod
    def _counts_steps(trainer: L.Trainer) -> bool:
        return trainer.max_epochs == -1 and trainer.max_steps > 0

    def _where(self, trainer: L.Trainer) -> str:
        if self._counts_steps(trainer):
            return f"step {trainer.global_step}/{trainer.max_steps}"
        return epoch_label(trainer)

    def _done_and_total(self, trainer: L.Trainer, batch_idx: int) -> tuple[int, int | None]:
        if self._counts_steps(trainer):
            return trainer.global_step, trainer.max_steps
        total = self.total_train_batches
        return batch_idx + 1, total if isinstance(total, int) and total > 0 else None

    def _losses(self, trainer: L.Trainer) -> str:
        """The latest losses; before the logger's first write, once, when they will appear."""
        shown = "  ".join(f"{label} {text}" for label, text in self.latest(trainer).items())
        if shown or self._told_when_losses_show:
            return shown
        self._told_when_losses_show = True
        return f"(losses show from step {trainer.log_every_n_steps}, the logger's first write)"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._counts_steps(trainer):  # a resumed run starts part-way
            self._counting_since, self._counted_from = time.perf_counter(), trainer.global_step
            self._next_line_at = trainer.global_step * self.lines_per_epoch // trainer.max_steps + 1

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._counts_steps(trainer):
            self._counting_since = time.perf_counter()
            self._next_line_at = 1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        done, total = self._done_and_total(trainer, batch_idx)
        if not self._enabled or total is None or done * self.lines_per_epoch < self._next_line_at * total:
            return
        self._next_line_at = done * self.lines_per_epoch // total + 1
        rate = (done - self._counted_from) / max(time.perf_counter() - self._counting_since, 1e-9)
        counted = "" if self._counts_steps(trainer) else f"{done}/{total} batches, "
        print(f"{self._where(trainer)}  {100 * done // total:3d}% ({counted}{rate:.1f} it/s)  "
              f"{self._losses(trainer)}".rstrip(), flush=True)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._enabled and not trainer.sanity_checking and trainer.state.fn == "fit":
            ended = "validated after" if self._counts_steps(trainer) else "done in"
            print(f"{self._where(trainer)} {ended} {time.perf_counter() - self._counting_since:.0f} s  "
                  f"{self._losses(trainer)}", flush=True)


def progress_display() -> ProgressBar:
    """A redrawn bar on a terminal, plain periodic lines otherwise."""
    return BarWithLosses() if sys.stdout.isatty() and sys.stderr.isatty() else PlainProgress()
