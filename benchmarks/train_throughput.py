"""Training throughput of vae_lightning against a bare PyTorch loop and torchvision's per-sample loader.

Trains the default model on FashionMNIST for a fixed number of steps three ways, interleaved `--repeats` times in one
process so all three see the same machine state, and prints median images/second and the ratios:

  (a) bare   a hand-written PyTorch loop over in-memory tensors (the floor any framework is measured against)
  (b) ours   VAELitModule + ImageDataModule(loader="tensor") + Lightning Trainer with TensorBoard logging
  (c) tv     the same Lightning path fed by torchvision's per-sample DataLoader (loader="torchvision")

    python benchmarks/train_throughput.py --data-root ../shared/datasets
"""

import argparse
import os
import statistics
import tempfile
import time

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.flop_counter import FlopCounterMode

from vae_lightning.data import ImageDataModule
from vae_lightning.models import VAELitModule


class StepTimer(L.Callback):
    """Wall time from the start of step `warmup` to the end of training: steady-state steps only."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.started = 0.0
        self.seconds = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            self.started = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.started


def bare_loop(datamodule: ImageDataModule, steps: int, warmup: int, seed: int) -> float:
    """Seconds for steps warmup..steps of the same model and objective, with no framework around it."""
    torch.manual_seed(seed)
    model = VAELitModule()
    optimizer = model.configure_optimizers()
    images = datamodule.split("train").images
    batch_size = datamodule.hparams.batch_size
    order = torch.randperm(len(images))
    started = 0.0
    for step in range(steps):
        if step == warmup:
            started = time.perf_counter()
        start = (step * batch_size) % (len(images) - batch_size)
        index = order[start : start + batch_size]
        x = images[index].float().div(255)
        recon, kl_per_dim = model.elbo_terms(x)
        loss = (recon + kl_per_dim.sum(1)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def lightning_path(datamodule: ImageDataModule, steps: int, warmup: int, seed: int, log_dir: str) -> float:
    """Seconds for the same steps through vae_lightning's Lightning path (validation and checkpoints off)."""
    L.seed_everything(seed, verbose=False)
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        max_steps=steps, limit_val_batches=0, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, logger=TensorBoardLogger(log_dir, name="bench"), callbacks=[timer],
        accelerator="cpu", devices=1,
    )
    trainer.fit(VAELitModule(), datamodule=datamodule)
    return timer.seconds


def loader_images_per_second(datamodule: ImageDataModule, batches: int) -> float:
    """Images/second of the training DataLoader alone: the data path without the model."""
    loader = iter(datamodule.train_dataloader())
    started = time.perf_counter()
    count = sum(len(next(loader)[0]) for _ in range(batches))
    return count / (time.perf_counter() - started)


def training_flops_per_image(batch_size: int) -> float:
    """Forward + backward FLOPs of one training step per image, counted by PyTorch's FLOP counter."""
    model = VAELitModule()
    x = torch.rand(batch_size, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        recon, kl_per_dim = model.elbo_terms(x)
        (recon + kl_per_dim.sum(1)).mean().backward()
    return counter.get_total_flops() / batch_size


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """This CPU's float32 matmul rate now: the ceiling the training rate is compared with."""
    a = torch.randn(size, size)
    a @ a
    started = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return repeats * 2 * size**3 / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA", "data"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    datamodules = {
        loader: ImageDataModule("fashion", root=args.data_root, batch_size=args.batch_size, loader=loader,
                                download=False)
        for loader in ("tensor", "torchvision")
    }
    for datamodule in datamodules.values():
        datamodule.prepare_data()
        datamodule.setup("fit")
    images = (args.steps - args.warmup) * args.batch_size
    rates: dict[str, list[float]] = {"bare": [], "ours": [], "tv": []}
    with tempfile.TemporaryDirectory() as log_dir:
        for repeat in range(args.repeats):
            rates["bare"].append(images / bare_loop(datamodules["tensor"], args.steps, args.warmup, repeat))
            rates["ours"].append(images / lightning_path(datamodules["tensor"], args.steps, args.warmup, repeat,
                                                         log_dir))
            rates["tv"].append(images / lightning_path(datamodules["torchvision"], args.steps, args.warmup, repeat,
                                                       log_dir))
            print(f"repeat {repeat + 1}/{args.repeats}: " + "  ".join(f"{k} {v[-1]:,.0f} img/s" for k, v in
                                                                      rates.items()), flush=True)
    median = {name: statistics.median(values) for name, values in rates.items()}
    loading = {loader: loader_images_per_second(dm, batches=100) for loader, dm in datamodules.items()}
    achieved = median["ours"] * training_flops_per_image(args.batch_size) / 1e9
    peak = matmul_gflops()
    print(f"\nFashionMNIST, batch {args.batch_size}, {args.steps} steps ({args.warmup} warm-up), "
          f"{torch.get_num_threads()} threads, medians of {args.repeats}:")
    print(f"  (a) bare PyTorch loop, in-memory tensors  {median['bare']:8,.0f} images/s")
    print(f"  (b) vae_lightning (tensor loader)         {median['ours']:8,.0f} images/s")
    print(f"  (c) vae_lightning (torchvision loader)    {median['tv']:8,.0f} images/s")
    print(f"  b/a = {median['ours'] / median['bare']:.3f}   b/c = {median['ours'] / median['tv']:.2f}")
    print(f"  data loading alone: tensor {loading['tensor']:,.0f} images/s, torchvision {loading['torchvision']:,.0f} "
          f"images/s ({loading['tensor'] / loading['torchvision']:.0f}x)")
    print(f"  (b) trains at {achieved:.1f} GFLOP/s = {achieved / peak:.0%} of this CPU's float32 matmul rate "
          f"measured now ({peak:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
