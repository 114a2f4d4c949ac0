"""Side by side with pythae: the same convolutional VAE trained by pythae's `TrainingPipeline` and by vae_lightning,
interleaved in one process, and the wall time each needs to reach the same test −ELBO.

  pythae  the encoder and decoder networks of `BetaVAE()` (`ConvEncoder`, `ConvDecoder`) wrapped as pythae's
          BaseEncoder / BaseDecoder, trained by `pythae.models.VAE` (reconstruction_loss="bce", 32-d latent) through
          `TrainingPipeline` with `BaseTrainerConfig` (same lr, batch size, epochs, seed; no_cuda). pythae trains
          in float32 on a CPU (its `amp` is CUDA-only and off for BCE).
  ours    `BetaVAE()` in the engine, `MNISTFamilyDataModule`, Lightning Trainer (`time_to_quality.lightning_run`) at the
          project's default precision, `trainer.precision=auto` (bf16-mixed where the CPU has bfloat16 units), or
          at `--precision`.

In each repeat both start from the same initial weights (the repeat's seed, `--seed` + repeat, set before the model
is built; the two batch orders differ) and from the same training images held in memory: pythae gets them as one
float tensor, ours as the data module's uint8 tensors. pythae's loss is ours: −log p(x | z) is binary cross-entropy
summed over pixels (on the decoder's sigmoid; ours on its logits), plus the closed-form Gaussian KL summed over latent
dimensions, averaged over the batch (pythae `VAE.loss_function`). Both are scored after every epoch by one function
of this project (pythae through its `on_epoch_end` callback; evaluation is left out of both times):
`--measure neg_elbo` (default), `time_to_quality.test_neg_elbo`, the β = 1 negative ELBO over the whole test split in
float32; `--measure iwae`, `time_to_quality.test_iwae_bound`, the IWAE bound with K = `--eval-samples` on a seeded
`--eval-images` of the test images, the same images and draws at every evaluation. Noise comes from the repeat's seed.

Two comparisons:
- without `--target`, both train `--max-epochs`; the report gives the fits' ratio, pythae's kept model (lowest
  training loss) against ours' last epoch, and ours' wall time to pythae's score;
- with `--target` (nats/image), each side trains until its score first reaches the target (pythae's loop is ended
  from its callback) and the report gives each side's wall time to it and their ratio. With `--data mnist
  --binarize dynamic --measure iwae` this is the binarised-MNIST protocol of Burda et al. (2016): a fresh Bernoulli
  draw of every training image whenever it is read (ours in the data module's batch hook, pythae through a dataset
  that draws per sample, as its own loader reads samples), one fixed draw of the test images.

The timed span is the fit: `pipeline(train_data)` for pythae (its data check, trainer set-up, the epochs, keeping
the best model and saving it to a temporary folder), `trainer.fit` for ours (checkpoints and validation off,
TensorBoard logging on, as `benchmark_trainer` sets it). The two alternate which goes first in each repeat.

    pip install -e ".[bench]"
    python benchmarks/vs_pythae.py --data-root ../shared/datasets [--train-images 10000 --max-epochs 2 --repeats 3]
    python benchmarks/vs_pythae.py --data-root ../shared/datasets --train-images 0 --max-epochs 10   # all 54k
    python benchmarks/vs_pythae.py --data-root ../shared/datasets --data mnist --binarize dynamic --measure iwae \
        --target 95 --train-images 0 --max-epochs 12 --repeats 3    # time to a binarised-MNIST IWAE bound
"""

import argparse
import dataclasses
import logging
import math
import statistics
import tempfile

import lightning as L
import torch
from baseline import cpu_description
from pythae.data.datasets import DatasetOutput
from pythae.models import VAE, VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.pipelines import TrainingPipeline
from pythae.trainers import BaseTrainerConfig
from pythae.trainers.training_callbacks import TrainingCallback
from time_to_quality import (
    DEFAULT_LR,
    NEG_ELBO,
    Curve,
    QualityClock,
    Score,
    add_data_arguments,
    datamodule_for,
    iwae_score,
    lightning_run,
    warm_up,
)
from torch import Tensor
from torch.utils.data import Dataset

from vae_lightning.data.base import as_float_images
from vae_lightning.engine.precision import PrecisionChoice, choose_precision
from vae_lightning.models import BetaVAE
from vae_lightning.models.nets.conv_vae import ConvDecoder, ConvEncoder


class PythaeEncoder(BaseEncoder):
    """Our `ConvEncoder` as pythae wants an encoder: μ as `embedding`, log σ² as `log_covariance`."""

    def __init__(self, network: ConvEncoder) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: Tensor) -> ModelOutput:
        mu, log_var = self.network(x)
        return ModelOutput(embedding=mu, log_covariance=log_var)


class PythaeDecoder(BaseDecoder):
    """Our `ConvDecoder` as pythae wants a decoder: pythae's BCE takes probabilities, so the logits go through a
    sigmoid."""

    def __init__(self, network: ConvDecoder) -> None:
        super().__init__()
        self.network = network

    def forward(self, z: Tensor) -> ModelOutput:
        return ModelOutput(reconstruction=torch.sigmoid(self.network(z)))


class DynamicallyBinarised(Dataset):
    """Grey training images as pythae's pipeline takes a dataset (`DatasetOutput(data=...)`), each a fresh Bernoulli
    draw whenever it is read: dynamic binarisation (Burda et al. 2016) through pythae's own per-sample loader."""

    def __init__(self, images: Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> DatasetOutput:
        return DatasetOutput(data=torch.bernoulli(self.images[index]))


class TargetReached(Exception):
    """Raised from pythae's epoch-end hook to end its loop, which has no other way out, once the target is met."""


class EpochScores(TrainingCallback):
    """pythae's epoch-end hook: scores the networks pythae is training (ours, inside its wrappers) on the clock, which
    leaves the evaluation out of the training time, and ends the loop at the target when one is set."""

    def __init__(self, clock: QualityClock, model: BetaVAE, stop_at_target: bool) -> None:
        self.clock = clock
        self.model = model
        self.stop_at_target = stop_at_target

    def on_epoch_end(self, training_config: BaseTrainerConfig, **kwargs) -> None:
        if self.clock.end_of_epoch(self.model) and self.stop_at_target:
            raise TargetReached


@dataclasses.dataclass(frozen=True)
class PythaeRun:
    curve: Curve  # the score after each epoch; its seconds leave the evaluations out
    kept_nats: float | None  # the score of the model pythae keeps (lowest training loss); None if stopped at a target


def pythae_run(args: argparse.Namespace, score: Score) -> PythaeRun:
    """Train the default model with pythae's pipeline, scoring it after every epoch; with a target, until it is met;
    without one, all epochs, then score the model the pipeline kept."""
    datamodule = datamodule_for(args)
    train_images = as_float_images(datamodule.split("train").images)  # grey under dynamic binarisation
    train_data = DynamicallyBinarised(train_images) if args.binarize == "dynamic" else train_images
    L.seed_everything(args.seed, verbose=False)
    ours = BetaVAE()  # built here for its initial weights and its evaluation: pythae trains these very networks
    model = VAE(VAEConfig(input_dim=tuple(datamodule.image_shape), latent_dim=ours.hparams.latent_dim,
                          reconstruction_loss="bce"),
                encoder=PythaeEncoder(ours.vae.encoder), decoder=PythaeDecoder(ours.vae.decoder))
    with tempfile.TemporaryDirectory() as output_dir:
        config = BaseTrainerConfig(output_dir=output_dir, learning_rate=args.lr, num_epochs=args.max_epochs,
                                   per_device_train_batch_size=args.batch_size, seed=args.seed, no_cuda=True)
        pipeline = TrainingPipeline(model=model, training_config=config)
        clock = QualityClock("pythae", datamodule, args.threshold, args.seed, score)
        try:
            scores = EpochScores(clock, ours, stop_at_target=args.target is not None)
            pipeline(train_data=train_data, callbacks=[scores])
        except TargetReached:
            return PythaeRun(clock.stop(), kept_nats=None)
        curve = clock.stop()
    kept = pipeline.trainer._best_model  # what pythae saves as final_model: the epoch of lowest training loss
    ours.vae.encoder.load_state_dict(kept.encoder.network.state_dict())
    ours.vae.decoder.load_state_dict(kept.decoder.network.state_dict())
    kept_nats = score(ours, datamodule, args.seed)
    print(f"pythae: {score.name} {kept_nats:.2f} (the model it kept) after {curve.fit_seconds:.1f} s",
          flush=True)
    return PythaeRun(curve, kept_nats)


def epochs_to_reach(curve: Curve, nats: float) -> int | None:
    """Epochs until the first whose score is at or below `nats` (its training seconds: `curve.seconds[epochs - 1]`);
    None if none is."""
    return next((epoch for epoch, value in enumerate(curve.nats, start=1) if value <= nats), None)


def seconds_to_reach(curve: Curve, nats: float) -> float | None:
    epochs = epochs_to_reach(curve, nats)
    return None if epochs is None else curve.seconds[epochs - 1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--binarize", choices=("none", "dynamic"), default="none",
                        help="dynamic: Burda et al. 2016's protocol, a fresh Bernoulli draw of each training image "
                        "whenever it is read and one fixed draw of the test images (data.binarize=dynamic)")
    parser.add_argument("--measure", choices=("neg_elbo", "iwae"), default="neg_elbo",
                        help="the test score: the −ELBO on the whole test split, or the IWAE bound on a seeded subset")
    parser.add_argument("--eval-images", type=int, default=2000, help="test images of --measure iwae (default 2000)")
    parser.add_argument("--eval-samples", type=int, default=100, help="K of --measure iwae (default 100)")
    parser.add_argument("--target", type=float, help="train each side until its score is at or below this (nats "
                        "per image, checked after each epoch) and compare the wall times to reach it")
    parser.add_argument("--train-images", type=int, default=10000,
                        help="train on the first N images of the training split; 0 for all of it")
    parser.add_argument("--max-epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=DEFAULT_LR)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", help="ours: the project's trainer.precision (auto, "
                        "32-true, bf16-mixed); 32-true shows the float32 figure of a CPU without bfloat16 units")
    args = parser.parse_args()
    args.train_images = args.train_images or None
    args.threshold = -math.inf if args.target is None else args.target  # without a target every epoch trains
    return args


def main() -> None:
    args = parse_args()
    for name in ("pythae.trainers.base_trainer.base_trainer", "pythae.pipelines.training"):
        logging.getLogger(name).setLevel(logging.WARNING)  # its per-epoch lines would bury the figures
    score = NEG_ELBO if args.measure == "neg_elbo" else iwae_score(args.eval_images, args.eval_samples)
    precision = choose_precision(args.precision, "cpu")
    warm_up(args)
    pythae_runs: list[PythaeRun] = []
    curves: list[Curve] = []
    for repeat in range(args.repeats):
        seeded = argparse.Namespace(**{**vars(args), "seed": args.seed + repeat})
        print(f"repeat {repeat + 1}/{args.repeats}, seed {seeded.seed}", flush=True)
        order = ("pythae", "ours") if repeat % 2 == 0 else ("ours", "pythae")
        for side in order:
            if side == "pythae":
                pythae_runs.append(pythae_run(seeded, score))
            else:
                curves.append(lightning_run(seeded, precision.precision, name="ours", score=score))
    describe_setting(args, precision, score)
    if args.target is None:
        report_fits(args, score, pythae_runs, curves)
    else:
        report_time_to_target(args, score, [run.curve for run in pythae_runs], curves)


def describe_setting(args: argparse.Namespace, precision: PrecisionChoice, score: Score) -> None:
    images = datamodule_for(args).num_images("train")
    binarised = ", dynamically binarised (test: one fixed draw)" if args.binarize == "dynamic" else ""
    print(f"\n{args.data}{binarised}, {images} training images in memory, {args.max_epochs} epochs at most, batch "
          f"{args.batch_size}, lr {args.lr:g}; medians of {args.repeats} interleaved repeats, seeds {args.seed}–"
          f"{args.seed + args.repeats - 1}; score: {score.name}, nats/image, after each epoch "
          "(evaluation left out of the times)")
    print(f"  CPU: {cpu_description()}")
    print(f"  ours trains in {precision.describe()}; pythae in float32")


def report_fits(args: argparse.Namespace, score: Score, pythae_runs: list[PythaeRun], curves: list[Curve]) -> None:
    """The whole fits: medians, the ratio, the per-seed score gaps, and ours' time to pythae's score."""
    name = score.name
    pythae_seconds = statistics.median(run.curve.fit_seconds for run in pythae_runs)
    ours_seconds = statistics.median(curve.fit_seconds for curve in curves)
    pythae_nats = statistics.median(run.kept_nats for run in pythae_runs)
    ours_nats = statistics.median(curve.nats[-1] for curve in curves)
    print(f"  pythae {'fit':>7} {pythae_seconds:8.1f} s   {name} {pythae_nats:.2f} nats/image")
    print(f"  ours   {'fit':>7} {ours_seconds:8.1f} s   {name} {ours_nats:.2f} nats/image")
    print(f"  pythae/ours fit wall time = {pythae_seconds / ours_seconds:.3f}")
    gaps = [curve.nats[-1] - run.kept_nats for curve, run in zip(curves, pythae_runs, strict=True)]
    print(f"  ours − pythae {name}, same seed: " + ", ".join(f"{gap:+.2f}" for gap in gaps)
          + f" (median {statistics.median(gaps):+.2f}) nats/image")
    reached = [seconds_to_reach(curve, pythae_nats) for curve in curves]
    if all(seconds is not None for seconds in reached):
        to_quality = statistics.median(reached)
        print(f"  ours reached pythae's {name} {pythae_nats:.2f} after {to_quality:.1f} s of training "
              f"(evaluated after each epoch)")
        print(f"  pythae/ours wall time to the same {name} = {pythae_seconds / to_quality:.3f}")
    else:
        print(f"  ours did not reach pythae's {name} {pythae_nats:.2f} in {args.max_epochs} epochs in "
              f"{reached.count(None)} of {args.repeats} repeats: compare the fits' ratio with their scores")


def report_time_to_target(args: argparse.Namespace, score: Score, pythae_curves: list[Curve],
                          curves: list[Curve]) -> None:
    """Each side's wall time and epochs to the target, per seed and as medians, and their ratio."""
    print(f"  target: {score.name} ≤ {args.target:g} nats/image")
    medians = {}
    for side, side_curves in (("pythae", pythae_curves), ("ours", curves)):
        epochs = [epochs_to_reach(curve, args.target) for curve in side_curves]
        seconds = [seconds_to_reach(curve, args.target) for curve in side_curves]
        cells = ", ".join(f"{s:.1f} s ({e} epochs)" if s is not None else f"not reached (best {min(c.nats):.2f})"
                          for s, e, c in zip(seconds, epochs, side_curves, strict=True))
        print(f"  {side:<6} per seed: {cells}")
        if None not in seconds:
            medians[side] = statistics.median(seconds)
            print(f"  {side:<6} median wall time to the target {medians[side]:8.1f} s")
    if len(medians) == 2:
        print(f"  pythae/ours wall time to the target = {medians['pythae'] / medians['ours']:.3f}")
    else:
        print(f"  no ratio: not every repeat reached {args.target:g} in {args.max_epochs} epochs; raise "
              "--max-epochs or the target")


if __name__ == "__main__":
    main()
