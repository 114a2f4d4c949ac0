"""What every benchmark shares: the real data module, the bare PyTorch step vae_lightning is measured against, and
this CPU's FLOP counts and rates.

The benchmarks run as scripts (`python benchmarks/<name>.py`), so they import this module by its file name.
"""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.engine.module import DEFAULT_OPTIMIZER
from vae_lightning.models import BetaVAE


def ready_datamodule(root: str, batch_size: int, loader: str = "tensor", seed: int = 0,
                     limit_train_samples: int | None = None, name: str = "fashion",
                     binarize: str = "none") -> MNISTFamilyDataModule:
    """FashionMNIST (or MNIST, `name`) found under `root` (never downloaded), set up; a fresh one restarts the seeded
    batch order. `limit_train_samples` keeps the first that many images of the (seeded) training split; None keeps
    all. `binarize` is `data.binarize`."""
    datamodule = MNISTFamilyDataModule(name, root=root, batch_size=batch_size, loader=loader, download=False,
                                       seed=seed, limit_train_samples=limit_train_samples, binarize=binarize)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


class StepClock(L.Callback):
    """`clock()` at the start of every training step and at the end of training: everything Lightning does per
    step counts. Wall time by default; `time.process_time` counts only the CPU this process used."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.times.append(self.clock())

    def on_train_end(self, trainer, pl_module) -> None:
        self.times.append(self.clock())


def benchmark_trainer(log_dir: str, callbacks: list[L.Callback], **limits: Any) -> L.Trainer:
    """vae_lightning's training path as the CLI builds it, with TensorBoard logging, but without validation,
    checkpoints, progress bar or summary, which would time something other than training; `limits` are
    `max_steps`, `max_epochs` or `precision`."""
    return L.Trainer(limit_val_batches=0, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, logger=TensorBoardLogger(log_dir, name="benchmark"),
                     callbacks=callbacks, accelerator="cpu", devices=1, **limits)


def bare_model(lr: float = 1e-3, **settings: Any) -> tuple[BetaVAE, torch.optim.Optimizer]:
    """The default model with the default optimiser (Adam, conf/optimizer/adam.yaml: fused) and no framework around
    it, so the bare loop and the engine train the same model."""
    model = BetaVAE(**settings)
    return model, torch.optim.Adam(model.parameters(), lr=lr, fused=DEFAULT_OPTIMIZER["fused"])


def bare_step(model: BetaVAE, optimizer: torch.optim.Optimizer, x: Tensor) -> Tensor:
    """One optimiser step on the β = 1 negative ELBO with no framework around it; returns the loss."""
    loss = model.objective(x, None, None)["neg_elbo"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def training_flops_per_image(batch_size: int, image_shape: tuple[int, int, int] = (1, 28, 28)) -> float:
    """Forward + backward FLOPs of one training step of the default model per image, by PyTorch's FLOP counter."""
    model = BetaVAE(image_shape=image_shape)
    with FlopCounterMode(display=False) as counter:
        model.objective(torch.rand(batch_size, *image_shape), None, None)["neg_elbo"].backward()
    return counter.get_total_flops() / batch_size


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """This CPU's model name, its bfloat16 and AMX flags and torch's CPU capability: what a speed figure depends on."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        lines = []
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}
    flags = [flag for flag in ("avx512_bf16", "amx_bf16", "amx_tile") if flag in fields.get("flags", "").split()]
    return (f"{fields.get('model name', 'unknown CPU')}, {os.cpu_count()} logical cores, flags: "
            f"{' '.join(flags) or 'no avx512_bf16/amx'}, torch CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads")


def matmul_gflops(dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 10) -> float:
    """This CPU's matmul rate now, in GFLOP/s: the ceiling a training rate is compared with."""
    a = torch.randn(size, size, dtype=dtype)
    a @ a
    started = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return repeats * 2 * size**3 / (time.perf_counter() - started) / 1e9
