"""Training throughput of vae_lightning against a bare PyTorch loop and torchvision's per-sample loader.

Trains the default model on FashionMNIST (or, with `--data dsprites`, the 64×64 dSprites grid and the model depth
that image size gets) for a fixed number of steps in each of these ways, interleaved `--repeats` times in one process
so all of them see the same machine state:

  (a) bare   a hand-written PyTorch loop over in-memory tensors (the floor any framework is measured against)
  (b) ours   TrainingEngine(BetaVAE) + MNISTFamilyDataModule(loader="tensor") + Lightning Trainer, TensorBoard logging
  (c) tv     the same Lightning path fed by torchvision's per-sample DataLoader (loader="torchvision"; FashionMNIST)
  (d) bf16   (b) with Trainer(precision="bf16-mixed"): bfloat16 autocast (with --bf16)

Every step is timed. After `--warmup` steps the steps are cut into windows of `--window` steps (the Trainer's
default `log_every_n_steps`, so each window holds one write to the logger) and each window gives an images/second
figure; the report quotes the median over all windows of all repeats. On a shared machine a burst of other work spoils
a few windows, not the median.

    python benchmarks/train_throughput.py --data-root ../shared/datasets
    python benchmarks/train_throughput.py --data dsprites --batch-size 64
"""

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import lightning as L
import torch
from baseline import (
    StepClock,
    bare_model,
    bare_step,
    benchmark_trainer,
    matmul_gflops,
    ready_datamodule,
    training_flops_per_image,
)

from vae_lightning.data import DSpritesDataModule, InMemoryDataModule
from vae_lightning.engine.module import engine_for
from vae_lightning.models import BetaVAE


def window_rates(times: list[float], batch_size: int, warmup: int, window: int) -> list[float]:
    """Images/second of each full window of `window` steps after the first `warmup` steps; `times` are the start of
    each step followed by the end of the last."""
    starts = range(warmup, len(times) - window, window)
    return [window * batch_size / (times[start + window] - times[start]) for start in starts]


def bare_loop(datamodule: InMemoryDataModule, steps: int, seed: int) -> list[float]:
    """Step times of the same model and objective with no framework around it, batches cut from in-memory tensors."""
    torch.manual_seed(seed)
    model, optimizer = bare_model(image_shape=datamodule.image_shape)
    images = datamodule.split("train").images
    batch_size = datamodule.hparams.batch_size
    order = torch.randperm(len(images))
    times = []
    for step in range(steps):
        times.append(time.perf_counter())
        start = (step * batch_size) % (len(images) - batch_size)
        bare_step(model, optimizer, images[order[start : start + batch_size]].float().div(255))
    return [*times, time.perf_counter()]


def lightning_path(datamodule: InMemoryDataModule, steps: int, seed: int, log_dir: str,
                   precision: str = "32-true") -> list[float]:
    """Step times of vae_lightning's Lightning path (validation and checkpoints off)."""
    L.seed_everything(seed, verbose=False)
    clock = StepClock()
    trainer = benchmark_trainer(log_dir, [clock], max_steps=steps, precision=precision)
    trainer.fit(engine_for(BetaVAE, image_shape=list(datamodule.image_shape)), datamodule=datamodule)
    return clock.times


def loader_images_per_second(datamodule: InMemoryDataModule, batches: int) -> float:
    """Images/second of the training DataLoader alone: the data path without the model."""
    loader = datamodule.train_dataloader()
    batches = min(batches, len(loader))
    iterator = iter(loader)
    started = time.perf_counter()
    count = sum(len(next(iterator)[0]) for _ in range(batches))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA", "data"))
    parser.add_argument("--data", choices=("fashion", "dsprites"), default="fashion")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048, help="side of the matrices that measure the peak")
    parser.add_argument("--bf16", action="store_true", help="add the bfloat16 autocast path (d); on a CPU without "
                        "bfloat16 instructions (torch.backends.cpu.get_cpu_capability() below AVX512) it is emulated "
                        "and far slower")
    args = parser.parse_args()
    if args.steps < args.warmup + args.window + 1:
        parser.error("--steps must leave at least one full window after --warmup (steps > warmup + window)")

    if args.data == "dsprites":
        datamodules = {"tensor": DSpritesDataModule(root=args.data_root, batch_size=args.batch_size)}
        datamodules["tensor"].prepare_data()
        datamodules["tensor"].setup("fit")
    else:
        datamodules = {loader: ready_datamodule(args.data_root, args.batch_size, loader)
                       for loader in ("tensor", "torchvision")}
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as log_dir:
        paths: dict[str, Callable[[int], list[float]]] = {
            "bare": lambda seed: bare_loop(datamodules["tensor"], args.steps, seed),
            "ours": lambda seed: lightning_path(datamodules["tensor"], args.steps, seed, log_dir),
        }
        if "torchvision" in datamodules:
            paths["tv"] = lambda seed: lightning_path(datamodules["torchvision"], args.steps, seed, log_dir)
        if args.bf16:
            paths["bf16"] = lambda seed: lightning_path(datamodules["tensor"], args.steps, seed, log_dir,
                                                        precision="bf16-mixed")
        for repeat in range(args.repeats):
            line = []
            for name, run in paths.items():
                windows = window_rates(run(repeat), args.batch_size, args.warmup, args.window)
                rates.setdefault(name, []).extend(windows)
                line.append(f"{name} {statistics.median(windows):,.0f}")
            print(f"repeat {repeat + 1}/{args.repeats}, images/s (median of its windows): " + "  ".join(line),
                  flush=True)
    median = {name: statistics.median(values) for name, values in rates.items()}
    loading = {loader: loader_images_per_second(dm, batches=100) for loader, dm in datamodules.items()}
    flops = training_flops_per_image(args.batch_size, datamodules["tensor"].image_shape)
    dtypes = ("float32", "bfloat16") if args.bf16 else ("float32",)
    peak = {dtype: matmul_gflops(getattr(torch, dtype), args.matmul_size) for dtype in dtypes}

    windows = len(rates["bare"])
    print(f"\n{args.data} {datamodules['tensor'].image_shape}, batch {args.batch_size}, {args.steps} steps "
          f"({args.warmup} warm-up), "
          f"{torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}; "
          f"medians of {windows} windows of {args.window} steps from {args.repeats} interleaved repeats:")
    print(f"  (a) bare PyTorch loop, in-memory tensors  {median['bare']:8,.0f} images/s")
    print(f"  (b) vae_lightning (tensor loader)         {median['ours']:8,.0f} images/s")
    if "tv" in median:
        print(f"  (c) vae_lightning (torchvision loader)    {median['tv']:8,.0f} images/s")
    if "bf16" in median:
        print(f"  (d) vae_lightning, bf16-mixed autocast  {median['bf16']:8,.0f} images/s")
    ratios = f"  b/a = {median['ours'] / median['bare']:.3f}"
    ratios += f"   b/c = {median['ours'] / median['tv']:.2f}" if "tv" in median else ""
    print(ratios + (f"   d/b = {median['bf16'] / median['ours']:.2f}" if "bf16" in median else ""))
    print("  data loading alone: " + ", ".join(f"{loader} {rate:,.0f} images/s" for loader, rate in loading.items()))
    for label, key, dtype in (("a", "bare", "float32"), ("b", "ours", "float32"), ("d", "bf16", "bfloat16")):
        if key in median:
            achieved = median[key] * flops / 1e9
            print(f"  ({label}) trains at {achieved:5.3g} GFLOP/s = {achieved / peak[dtype]:4.0%} of this CPU's "
                  f"{dtype} matmul rate measured now ({peak[dtype]:.3g} GFLOP/s)")


if __name__ == "__main__":
    main()
