"""Time to quality: training wall time and epochs until the default model's test negative ELBO (β = 1, nats/image,
the whole 10k test split of `--data`, FashionMNIST by default, evaluated after every epoch) reaches `--threshold`.

Both paths start from the same seed, the same initial weights and the same batch order (the data module's own
loader), so they train the same model and differ only in the time around each step:

  (a) bare       a hand-written PyTorch loop (`baseline.bare_step`)
  (b) lightning  TrainingEngine(BetaVAE) + MNISTFamilyDataModule + Lightning Trainer with TensorBoard logging
                 (validation and checkpoints off, as in train_throughput.py)

The evaluation draws its noise from its own fixed seed and is left out of the reported training seconds.

    python benchmarks/time_to_quality.py --data-root ../shared/datasets [--lr 2e-3 --batch-size 128 --threshold 250]
"""

import argparse
import dataclasses
import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from baseline import bare_model, bare_step, benchmark_trainer, ready_datamodule
from omegaconf import OmegaConf

import vae_lightning
from vae_lightning.analysis.likelihood import iwae_log_likelihood
from vae_lightning.analysis.metrics import seeded_subset
from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.data.base import as_float_images
from vae_lightning.engine.module import TrainingEngine, engine_for
from vae_lightning.models import BetaVAE

PATHS = ("bare", "lightning")
# The training CLI's learning rate, so that by default this measures what `python -m vae_lightning.train` runs.
DEFAULT_LR = OmegaConf.load(Path(vae_lightning.__file__).parent / "conf" / "optimizer" / "adam.yaml").lr


@dataclasses.dataclass(frozen=True)
class Score:
    """A test score in nats per image, lower is better, and the name the reports give it."""

    name: str
    measure: Callable[[torch.nn.Module, MNISTFamilyDataModule, int], float]  # (model, data module, seed) -> nats

    def __call__(self, model: torch.nn.Module, datamodule: MNISTFamilyDataModule, seed: int) -> float:
        return self.measure(model, datamodule, seed)


@dataclasses.dataclass
class Curve:
    """The test score (nats/image: the −ELBO, or the IWAE bound) after each epoch and the training seconds spent up to
    then (evaluation excluded)."""

    threshold: float
    nats: list[float] = dataclasses.field(default_factory=list)
    seconds: list[float] = dataclasses.field(default_factory=list)
    fit_seconds: float = 0.0  # the whole fit, its set-up and tear-down included, evaluation excluded

    @property
    def reached(self) -> bool:
        return bool(self.nats) and self.nats[-1] <= self.threshold


class QualityClock:
    """Wall clock of training that stops while the test split is evaluated after each epoch."""

    def __init__(self, name: str, datamodule: MNISTFamilyDataModule, threshold: float, seed: int,
                 score: Score) -> None:
        self.name = name
        self.datamodule = datamodule
        self.seed = seed
        self.score = score
        self.curve = Curve(threshold)
        self.started = time.perf_counter()
        self.paused = 0.0

    def end_of_epoch(self, model: BetaVAE) -> bool:
        """Evaluate, record and return whether the threshold is reached."""
        trained = time.perf_counter() - self.started - self.paused
        evaluation_started = time.perf_counter()
        self.curve.nats.append(self.score(model, self.datamodule, self.seed))
        self.curve.seconds.append(trained)
        self.paused += time.perf_counter() - evaluation_started
        print(f"{self.name} epoch {len(self.curve.nats)}: {self.score.name} {self.curve.nats[-1]:.2f} after "
              f"{trained:.1f} s", flush=True)
        return self.curve.reached

    def stop(self) -> Curve:
        """Record the whole fit's time (evaluation excluded) once training has returned."""
        self.curve.fit_seconds = time.perf_counter() - self.started - self.paused
        return self.curve


@torch.no_grad()
def test_neg_elbo(model: BetaVAE, datamodule: MNISTFamilyDataModule, seed: int) -> float:
    """Mean −ELBO with β = 1 over the test split, in nats per image; its noise comes from `seed` and the training
    random stream is left as it was, so evaluating does not change what is trained next."""
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for x, labels in datamodule.test_dataloader():
            total += model.objective(x, labels, None)["neg_elbo"].item() * len(x)
    model.train(was_training)
    return total / datamodule.num_images("test")


@torch.no_grad()
def test_iwae_bound(model: BetaVAE, datamodule: MNISTFamilyDataModule, seed: int, num_images: int,
                    num_samples: int) -> float:
    """The IWAE bound (Burda et al. 2016) with K = `num_samples` on a seeded `num_images` of the test split, nats per
    image: the same images (subset seed 0) and draws (`seed`) at every evaluation, so one curve's points pair."""
    test = datamodule.split("test")
    chosen = seeded_subset(len(test), min(num_images, len(test)), 0)
    was_training = model.training
    model.eval()
    result = iwae_log_likelihood(model, as_float_images(test.images[chosen]), num_samples, batch_size=50,
                                 generator=torch.Generator().manual_seed(seed))
    model.train(was_training)
    return result.neg_log_likelihood


NEG_ELBO = Score("test −ELBO", test_neg_elbo)


def iwae_score(num_images: int, num_samples: int) -> Score:
    return Score(f"test IWAE bound (K = {num_samples}, {num_images} images)",
                 functools.partial(test_iwae_bound, num_images=num_images, num_samples=num_samples))


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options both time-to-quality benchmarks share (`--binarize` is vs_pythae's alone: the bare loop here
    has no per-batch binarisation, which the data module does in Lightning's batch hook)."""
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA", "data"))
    parser.add_argument("--data", choices=("fashion", "mnist"), default="fashion")
    parser.set_defaults(binarize="none")


def datamodule_for(args: argparse.Namespace) -> MNISTFamilyDataModule:
    """A fresh data module for one run: the seeded batch order starts again."""
    return ready_datamodule(args.data_root, args.batch_size, seed=args.seed, limit_train_samples=args.train_images,
                            name=args.data, binarize=args.binarize)


def warm_up(args: argparse.Namespace, steps: int = 20) -> None:
    """A few throwaway steps, so that whichever path runs first does not pay the process's first-use costs."""
    datamodule = datamodule_for(args)
    model, optimizer = bare_model(lr=args.lr)
    for _, (x, _labels) in zip(range(steps), datamodule.train_dataloader(), strict=False):
        bare_step(model, optimizer, x)
    test_neg_elbo(model, datamodule, args.seed)


def bare_run(args: argparse.Namespace) -> Curve:
    datamodule = datamodule_for(args)
    L.seed_everything(args.seed, verbose=False)
    model, optimizer = bare_model(lr=args.lr)
    clock = QualityClock("bare", datamodule, args.threshold, args.seed, NEG_ELBO)
    for _ in range(args.max_epochs):
        for x, _labels in datamodule.train_dataloader():
            bare_step(model, optimizer, x)
        if clock.end_of_epoch(model):
            break
    return clock.stop()


class StopAtQuality(L.Callback):
    """Runs the clock's evaluation after each training epoch and stops the Trainer once the threshold is reached."""

    def __init__(self, clock: QualityClock) -> None:
        self.clock = clock

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: TrainingEngine) -> None:
        if self.clock.end_of_epoch(pl_module.model):
            trainer.should_stop = True


def lightning_run(args: argparse.Namespace, precision: str = "32-true", name: str = "lightning",
                  score: Score = NEG_ELBO) -> Curve:
    datamodule = datamodule_for(args)
    L.seed_everything(args.seed, verbose=False)
    model = engine_for(BetaVAE, lr=args.lr)
    with tempfile.TemporaryDirectory() as log_dir:
        trainer = benchmark_trainer(log_dir, [], max_epochs=args.max_epochs, precision=precision)
        clock = QualityClock(name, datamodule, args.threshold, args.seed, score)  # starts timing: after the set-up
        trainer.callbacks.append(StopAtQuality(clock))
        trainer.fit(model, datamodule=datamodule)
        return clock.stop()


def outcome(curve: Curve) -> str:
    if curve.reached:
        return f"reached after {len(curve.nats)} epochs, {curve.seconds[-1]:7.1f} s of training"
    return f"not reached in {len(curve.nats)} epochs (best {min(curve.nats):.1f}), {curve.seconds[-1]:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--threshold", type=float, default=250.0, help="test −ELBO to reach, nats/image")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-images", type=int, help="train on the first N images of the training split")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    args = parser.parse_args()

    runs = {"bare": bare_run, "lightning": lightning_run}
    warm_up(args)
    curves = {path: runs[path](args) for path in args.paths}
    print(f"\n{args.data}, default model, lr {args.lr:g}, batch {args.batch_size}, seed {args.seed}, "
          f"{torch.get_num_threads()} threads; threshold {args.threshold:g} nats/image (test −ELBO, β = 1):")
    print("  epoch  " + "".join(f"{path + ' −ELBO':>17} {'seconds':>8}" for path in curves))
    for epoch in range(max(len(curve.nats) for curve in curves.values())):
        cells = [f"{c.nats[epoch]:17.2f} {c.seconds[epoch]:8.1f}" if epoch < len(c.nats) else " " * 26
                 for c in curves.values()]
        print(f"  {epoch + 1:5d}  " + "".join(cells))
    for path, curve in curves.items():
        print(f"  {path:<9} {outcome(curve)}")
    if all(curve.reached for curve in curves.values()) and len(curves) == 2:
        print(f"  lightning/bare training time = {curves['lightning'].seconds[-1] / curves['bare'].seconds[-1]:.3f}")


if __name__ == "__main__":
    main()
