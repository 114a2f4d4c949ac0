"""The default optimiser's fused Adam update against torch's per-tensor one, on the training CLI's Lightning path.

Adam's per-tensor update runs about a dozen small ops for each of the default model's 16 parameter tensors every
step; the fused update (`conf/optimizer/adam.yaml`, `fused: true`) runs one kernel. Whether that matters depends on
how long the rest of the step takes, so this times the whole step: the default model in the engine, the tensor data
module and a Lightning Trainer as `benchmark_trainer` builds it (TensorBoard logging; no validation or checkpoints),
for `--steps` steps with each update, alternating `--repeats` times in one process (each going first in every other
repeat) so both see the same machine, at the precision `trainer.precision=auto` chooses here (or `--precision`). It
prints each update's median seconds, their ratio, the median of the repeats' own ratios (the paired figure, which
drifts in the machine's speed move less), and the training loss after the last step of each (the two round
differently, so they differ slightly).

    python benchmarks/optimizer_update.py --data-root ../shared/datasets
"""

import argparse
import statistics
import tempfile
import time

import lightning as L
from baseline import benchmark_trainer, cpu_description, ready_datamodule
from time_to_quality import add_data_arguments

from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.engine.checkpoint_schema import import_path
from vae_lightning.engine.module import DEFAULT_OPTIMIZER, TrainingEngine
from vae_lightning.engine.precision import AUTO, choose_precision
from vae_lightning.models import BetaVAE

UPDATES = {"per-tensor": False, "fused": True}


def fit_seconds(datamodule: MNISTFamilyDataModule, fused: bool, steps: int, precision: str,
                seed: int) -> tuple[float, float]:
    """Wall seconds of `steps` training steps with the fused or per-tensor update, and the last training loss."""
    L.seed_everything(seed, verbose=False)
    engine = TrainingEngine(model={"_target_": import_path(BetaVAE), "image_shape": list(datamodule.image_shape)},
                            optimizer={**DEFAULT_OPTIMIZER, "fused": fused})
    with tempfile.TemporaryDirectory() as log_dir:
        trainer = benchmark_trainer(log_dir, [], max_steps=steps, precision=precision)
        started = time.perf_counter()
        trainer.fit(engine, datamodule=datamodule)
        seconds = time.perf_counter() - started
    if bool(trainer.optimizers[0].param_groups[0]["fused"]) != fused:
        raise RuntimeError(f"the engine's optimiser ignored fused={fused}: this would time the wrong update")
    return seconds, float(trainer.callback_metrics["train/loss"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)  # --data-root, --data fashion | mnist
    parser.add_argument("--steps", type=int, default=350)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default=AUTO, help="trainer.precision (default auto: what the CLI chooses)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    precision = choose_precision(args.precision, "cpu")
    seconds: dict[str, list[float]] = {name: [] for name in UPDATES}
    losses: dict[str, float] = {}
    for repeat in range(args.repeats):
        order = list(UPDATES.items())[:: 1 if repeat % 2 == 0 else -1]  # each goes first in every other repeat
        for name, fused in order:
            datamodule = ready_datamodule(args.data_root, args.batch_size, seed=args.seed, name=args.data)
            took, losses[name] = fit_seconds(datamodule, fused, args.steps, precision.precision, args.seed)
            seconds[name].append(took)
        print(f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{name} {seconds[name][-1]:.3f} s"
                                                                 for name, _ in order)
              + f"; per-tensor / fused {seconds['per-tensor'][-1] / seconds['fused'][-1]:.3f}", flush=True)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n{args.data}, batch {args.batch_size}, {args.steps} steps of the Lightning path, {precision.precision} "
          f"({precision.reason}); medians of {args.repeats} interleaved repeats")
    print(f"  CPU: {cpu_description()}")
    for name in UPDATES:
        print(f"  Adam, {name} update {median[name]:10.3f} s   (training loss after the last step {losses[name]:.2f})")
    paired = statistics.median(a / b for a, b in zip(seconds["per-tensor"], seconds["fused"], strict=True))
    print(f"  per-tensor / fused = {median['per-tensor'] / median['fused']:.3f} (of the medians); "
          f"median of the repeats' ratios {paired:.3f}")


if __name__ == "__main__":
    main()
