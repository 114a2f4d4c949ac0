"""Host time the Lightning path adds to each training step, in CPU milliseconds, beside the bare PyTorch loop.

A model so small that its arithmetic is a few milliseconds (`--model-size tiny`) makes the framework's per-step work
(hooks, logging, the optimiser closure, the data loader) a large, measurable part of the step. Time is the CPU this
process used (`time.process_time`) on one thread, so being descheduled by other work on a shared machine does not
count; both paths run interleaved `--repeats` times and the report quotes mean milliseconds per step (the mean
keeps the logger's write every `log_every_n_steps` steps in the figure).

Divide the added milliseconds by a default-model step (train_throughput.py's bare rate) for the share it costs there.

    python benchmarks/step_overhead.py --data-root ../shared/datasets
"""

import argparse
import os
import statistics
import tempfile
import time

import lightning as L
import torch
from baseline import StepClock, bare_step, benchmark_trainer, ready_datamodule

from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.models import VAELitModule

TINY_MODEL = {"latent_dim": 4, "channels": [4, 8], "hidden_dim": 16}


def cpu_ms_per_step(times: list[float], warmup: int) -> float:
    """Mean CPU milliseconds per step after `warmup` steps; `times` are step starts followed by the end."""
    return 1e3 * (times[-1] - times[warmup]) / (len(times) - 1 - warmup)


def bare_times(datamodule: MNISTFamilyDataModule, steps: int, seed: int) -> list[float]:
    """CPU clock at each step of the bare loop, fed by the same DataLoader as the Lightning path."""
    torch.manual_seed(seed)
    model = VAELitModule(**TINY_MODEL)
    optimizer = model.configure_optimizers()
    times = []
    while len(times) < steps:
        for x, _labels in datamodule.train_dataloader():
            if len(times) == steps:
                break
            times.append(time.process_time())
            bare_step(model, optimizer, x)
    return [*times, time.process_time()]


def lightning_times(datamodule: MNISTFamilyDataModule, steps: int, seed: int, log_dir: str) -> list[float]:
    """CPU clock at each step of vae_lightning's Lightning path (validation and checkpoints off)."""
    L.seed_everything(seed, verbose=False)
    clock = StepClock(time.process_time)
    trainer = benchmark_trainer(log_dir, [clock], max_steps=steps)
    trainer.fit(VAELitModule(**TINY_MODEL), datamodule=datamodule)
    return clock.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA", "data"))
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.steps <= args.warmup:
        parser.error("--steps must be larger than --warmup")

    torch.set_num_threads(1)
    datamodule = ready_datamodule(args.data_root, args.batch_size)
    ms: dict[str, list[float]] = {"bare": [], "lightning": []}
    with tempfile.TemporaryDirectory() as log_dir:
        for repeat in range(args.repeats):
            ms["bare"].append(cpu_ms_per_step(bare_times(datamodule, args.steps, repeat), args.warmup))
            ms["lightning"].append(cpu_ms_per_step(lightning_times(datamodule, args.steps, repeat, log_dir),
                                                   args.warmup))
            print(f"repeat {repeat + 1}/{args.repeats}: bare {ms['bare'][-1]:.2f}, lightning {ms['lightning'][-1]:.2f} "
                  "CPU ms/step", flush=True)
    median = {path: statistics.median(values) for path, values in ms.items()}
    print(f"\nTiny model {TINY_MODEL}, batch {args.batch_size}, {args.steps} steps ({args.warmup} warm-up), 1 thread, "
          f"process CPU time, medians of {args.repeats} interleaved repeats:")
    print(f"  bare PyTorch loop       {median['bare']:6.2f} ms/step")
    print(f"  vae_lightning           {median['lightning']:6.2f} ms/step")
    print(f"  added by the Lightning path: {median['lightning'] - median['bare']:.2f} ms/step")


if __name__ == "__main__":
    main()
