"""Host time the Lightning path adds to each training step, beside a bare PyTorch loop doing the same work.

Both paths train at the precision `trainer.precision=auto` chooses on this CPU (bf16-mixed where it has avx512_bf16
or amx_bf16: the bare loop then runs the objective under the same bfloat16 autocast), fed by the same DataLoader.
The Lightning path is the training CLI's: its callbacks (checkpointing, image panels, charts, progress display …),
TensorBoard logging every `log_every_n_steps` steps, the atomic checkpoint writer and automatic optimisation;
validation is off, so every timed step is a training step.

Time is the CPU this process used (`time.process_time`) on one thread, so being descheduled by other work on a
shared machine does not count. After `--warmup` steps each run is cut into windows of `--window` steps (the
logger's interval, so each window holds one logger write) and the report quotes the median window; bare and
Lightning runs alternate `--repeats` times and the added time is the median of the per-repeat differences.

  1. Added host time: a tiny model (`TINY_MODEL`, batch 16), whose arithmetic is a few milliseconds, so the
     framework's per-step work is a large, measurable part of the step.
  2. b/a: the default model at `--ratio-batch-size`, bare ms per step over Lightning ms per step (= images/s of the
     Lightning path over the bare loop's), the share of throughput the framework leaves.
  3. Python calls per step of the tiny model, bare and Lightning (`sys.setprofile`): the framework's work as a count
     that a busy machine cannot blur.

    python benchmarks/step_overhead.py --data-root ../shared/datasets
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from baseline import StepClock, bare_model, ready_datamodule
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf

from vae_lightning.callbacks import FitTimeInCheckpoints
from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.engine.module import engine_for
from vae_lightning.engine.precision import AUTO, BF16, choose_precision, cpu_bf16_flags
from vae_lightning.models import BetaVAE
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO
from vae_lightning.train import training_callbacks

TINY_MODEL = {"latent_dim": 4, "channels": [4, 8], "hidden_dim": 16}
CONF = Path(__file__).resolve().parent.parent / "conf"
# /proc/cpuinfo flags that say how this CPU computes in bfloat16, printed beside the figures
CPU_FLAGS = ("avx512_bf16", "amx_bf16", "amx_tile")


def window_ms(times: list[float], warmup: int, window: int) -> list[float]:
    """Mean CPU milliseconds per step of each full window of `window` steps after `warmup`; `times` are the step
    starts (the run's end is left out: it holds the epoch-end checkpoint, not a step)."""
    return [1e3 * per_step for per_step in per_step_in_windows(times, warmup, window)]


def per_step_in_windows(clock_readings: list[float], warmup: int, window: int) -> list[float]:
    """How far the clock moved per step, in each full window of `window` steps after `warmup`."""
    starts = range(warmup, len(clock_readings) - window, window)
    return [(clock_readings[start + window] - clock_readings[start]) / window for start in starts]


class PythonCalls:
    """A clock that reads how many Python functions this thread has entered while it is active: the framework's work
    per step as a count that other jobs on the machine cannot move, unlike time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        return float(self.calls)

    def _count(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            self.calls += 1

    def __enter__(self) -> "PythonCalls":
        sys.setprofile(self._count)
        return self

    def __exit__(self, *exception: object) -> None:
        sys.setprofile(None)


def bare_times(datamodule: MNISTFamilyDataModule, model_settings: dict[str, Any], steps: int, seed: int,
               precision: str, clock: Callable[[], float] = time.process_time) -> list[float]:
    """`clock` (CPU time) at the start of each step of the bare loop, and once after the last."""
    torch.manual_seed(seed)
    model, optimizer = bare_model(**model_settings)
    times = []
    while len(times) < steps:
        for x, _labels in datamodule.train_dataloader():
            if len(times) == steps:
                break
            times.append(clock())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == BF16):
                loss = model.objective(x, None, None)["neg_elbo"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return [*times, clock()]


def cli_callbacks(log_dir: str, val_images: int) -> list[L.Callback]:
    """The training CLI's callbacks from conf/callbacks/default.yaml, writing into `log_dir`."""
    configured = OmegaConf.load(CONF / "callbacks" / "default.yaml")
    configured.checkpoint.dirpath = f"{log_dir}/checkpoints"
    configured.latent_panels.seed = 0
    configured.latent_panels.num_images = min(configured.latent_panels.num_images, val_images)  # tiny test data
    return training_callbacks(configured, resume_command="", progress=True, fit_clock=FitTimeInCheckpoints())


def lightning_times(datamodule: MNISTFamilyDataModule, model_settings: dict[str, Any], steps: int, seed: int,
                    log_dir: str, precision: str, clock: Callable[[], float] = time.process_time) -> list[float]:
    """`clock` (CPU time) at the start of each step of the training CLI's Lightning path (validation off)."""
    L.seed_everything(seed, verbose=False)
    step_clock = StepClock(clock)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=10, max_steps=steps, precision=precision,
                        log_every_n_steps=50, limit_val_batches=0, enable_model_summary=False,
                        logger=TensorBoardLogger(log_dir, name="tensorboard", version="", default_hp_metric=False),
                        plugins=[AtomicCheckpointIO()], default_root_dir=log_dir,
                        callbacks=[step_clock, *cli_callbacks(log_dir, datamodule.num_images("val"))])
    trainer.fit(engine_for(BetaVAE, **model_settings), datamodule=datamodule)
    return step_clock.times


def interleaved(datamodule: MNISTFamilyDataModule, model_settings: dict[str, Any], args: argparse.Namespace,
                steps: int, warmup: int, precision: str, label: str) -> tuple[list[float], list[float]]:
    """Per repeat, the median window of the bare loop and of the Lightning path (CPU ms per step)."""
    bare, lightning = [], []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as log_dir:
            bare.append(statistics.median(window_ms(
                bare_times(datamodule, model_settings, steps, repeat, precision), warmup, args.window)))
            lightning.append(statistics.median(window_ms(
                lightning_times(datamodule, model_settings, steps, repeat, log_dir, precision), warmup, args.window)))
        print(f"{label}, repeat {repeat + 1}/{args.repeats}: bare {bare[-1]:.3f}, lightning {lightning[-1]:.3f} "
              "CPU ms/step", flush=True)
    return bare, lightning


def python_calls_per_step(datamodule: MNISTFamilyDataModule, args: argparse.Namespace,
                          precision: str) -> tuple[float, float]:
    """Python function calls per step of the tiny model's bare loop and Lightning path (median window)."""
    with tempfile.TemporaryDirectory() as log_dir, PythonCalls() as calls:
        bare = bare_times(datamodule, TINY_MODEL, args.steps, 0, precision, clock=calls)
        lightning = lightning_times(datamodule, TINY_MODEL, args.steps, 0, log_dir, precision, clock=calls)
    return (statistics.median(per_step_in_windows(bare, args.warmup, args.window)),
            statistics.median(per_step_in_windows(lightning, args.warmup, args.window)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA", "data"))
    parser.add_argument("--steps", type=int, default=450, help="steps per run of the tiny model")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--window", type=int, default=50, help="steps per window: the logger's interval")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ratio-steps", type=int, default=150, help="steps per run of the default model (b/a)")
    parser.add_argument("--ratio-batch-size", type=int, default=128)
    args = parser.parse_args()
    if min(args.steps, args.ratio_steps) <= args.warmup + args.window:
        parser.error("--steps and --ratio-steps must leave a full window after --warmup (steps > warmup + window)")

    torch.set_num_threads(1)
    precision = choose_precision(AUTO, "cpu")
    flags = set(cpu_bf16_flags()) | {flag for flag in CPU_FLAGS if flag in Path("/proc/cpuinfo").read_text()}
    tiny_bare, tiny_lightning = interleaved(ready_datamodule(args.data_root, args.batch_size), TINY_MODEL, args,
                                            args.steps, args.warmup, precision.precision, "tiny model")
    added = [lightning - bare for bare, lightning in zip(tiny_bare, tiny_lightning, strict=True)]
    full_bare, full_lightning = interleaved(ready_datamodule(args.data_root, args.ratio_batch_size), {}, args,
                                            args.ratio_steps, args.warmup, precision.precision, "default model")
    ratios = [bare / lightning for bare, lightning in zip(full_bare, full_lightning, strict=True)]
    bare_calls, lightning_calls = python_calls_per_step(ready_datamodule(args.data_root, args.batch_size), args,
                                                        precision.precision)

    print(f"\nPrecision {precision.describe()}; CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"flags: {' '.join(flag for flag in CPU_FLAGS if flag in flags) or 'none of ' + ' '.join(CPU_FLAGS)}. "
          f"1 thread, process CPU time, windows of {args.window} steps after {args.warmup} warm-up, medians of "
          f"{args.repeats} interleaved repeats.")
    print(f"Tiny model {TINY_MODEL}, batch {args.batch_size}, {args.steps} steps per run:")
    print(f"  bare PyTorch loop       {statistics.median(tiny_bare):7.3f} ms/step")
    print(f"  vae_lightning           {statistics.median(tiny_lightning):7.3f} ms/step")
    print(f"  added by the Lightning path: {statistics.median(added):.3f} ms/step "
          f"(per repeat: {', '.join(f'{value:.3f}' for value in added)})")
    print(f"  Python calls per step: bare {bare_calls:.0f}, vae_lightning {lightning_calls:.0f}, "
          f"added {lightning_calls - bare_calls:.0f} (median window, one run each)")
    print(f"Default model, batch {args.ratio_batch_size}, {args.ratio_steps} steps per run:")
    print(f"  bare PyTorch loop       {statistics.median(full_bare):7.3f} ms/step")
    print(f"  vae_lightning           {statistics.median(full_lightning):7.3f} ms/step")
    print(f"  b/a = {statistics.median(ratios):.3f} (per repeat: {', '.join(f'{value:.3f}' for value in ratios)})")


if __name__ == "__main__":
    main()
