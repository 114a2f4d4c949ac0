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
dimensions, averaged over the batch (pythae `VAE.loss_function`). Both trained models are then scored by one
function of this project, `time_to_quality.test_neg_elbo`: the β = 1 negative ELBO over the whole test split in
float32, its noise drawn from the repeat's seed. Ours is also scored after each epoch
(evaluation left out of its time), which gives its wall time to pythae's final test −ELBO.

The timed span is the fit: `pipeline(train_data)` for pythae (its data check, trainer set-up, the epochs, keeping
the best model and saving it to a temporary folder), `trainer.fit` for ours (checkpoints and validation off,
TensorBoard logging on, as `benchmark_trainer` sets it). The two alternate which goes first in each repeat.

    pip install -e ".[bench]"
    python benchmarks/vs_pythae.py --data-root ../shared/datasets [--train-images 10000 --max-epochs 2 --repeats 3]
    python benchmarks/vs_pythae.py --data-root ../shared/datasets --train-images 0 --max-epochs 10   # all 54k
"""

import argparse
import dataclasses
import logging
import math
import os
import statistics
import tempfile
import time

import lightning as L
import torch
from baseline import cpu_description
from pythae.models import VAE, VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.pipelines import TrainingPipeline
from pythae.trainers import BaseTrainerConfig
from time_to_quality import DEFAULT_LR, Curve, datamodule_for, lightning_run, test_neg_elbo, warm_up
from torch import Tensor

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


@dataclasses.dataclass(frozen=True)
class PythaeRun:
    fit_seconds: float
    neg_elbo: float


def pythae_run(args: argparse.Namespace) -> PythaeRun:
    """Train the default model with pythae's pipeline; score what the pipeline kept with `test_neg_elbo`."""
    datamodule = datamodule_for(args)
    train_images = as_float_images(datamodule.split("train").images)
    L.seed_everything(args.seed, verbose=False)
    ours = BetaVAE()  # built here only for its initial weights and, afterwards, its evaluation
    model = VAE(VAEConfig(input_dim=tuple(datamodule.image_shape), latent_dim=ours.hparams.latent_dim,
                          reconstruction_loss="bce"),
                encoder=PythaeEncoder(ours.vae.encoder), decoder=PythaeDecoder(ours.vae.decoder))
    with tempfile.TemporaryDirectory() as output_dir:
        config = BaseTrainerConfig(output_dir=output_dir, learning_rate=args.lr, num_epochs=args.max_epochs,
                                   per_device_train_batch_size=args.batch_size, seed=args.seed, no_cuda=True)
        pipeline = TrainingPipeline(model=model, training_config=config)
        started = time.perf_counter()
        pipeline(train_data=train_images)
        fit_seconds = time.perf_counter() - started
    kept = pipeline.trainer._best_model  # what pythae saves as final_model: the epoch of lowest training loss
    ours.vae.encoder.load_state_dict(kept.encoder.network.state_dict())
    ours.vae.decoder.load_state_dict(kept.decoder.network.state_dict())
    neg_elbo = test_neg_elbo(ours, datamodule, args.seed)
    print(f"pythae: test −ELBO {neg_elbo:.2f} after {fit_seconds:.1f} s", flush=True)
    return PythaeRun(fit_seconds, neg_elbo)


def seconds_to_reach(curve: Curve, neg_elbo: float) -> float | None:
    """Training seconds until the first epoch whose test −ELBO is at or below `neg_elbo`; None if none is."""
    return next((seconds for value, seconds in zip(curve.neg_elbo, curve.seconds, strict=True) if value <= neg_elbo),
                None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA", "data"))
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
    args.threshold = -math.inf  # ours trains every epoch: `lightning_run` never stops early
    for name in ("pythae.trainers.base_trainer.base_trainer", "pythae.pipelines.training"):
        logging.getLogger(name).setLevel(logging.WARNING)  # its per-epoch lines would bury the figures

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
                pythae_runs.append(pythae_run(seeded))
            else:
                curves.append(lightning_run(seeded, precision.precision, name="ours"))
    report(args, precision, pythae_runs, curves)


def report(args: argparse.Namespace, precision: PrecisionChoice, pythae_runs: list[PythaeRun],
           curves: list[Curve]) -> None:
    """Medians over the repeats, the ratios, the per-seed −ELBO gaps and the machine they were measured on."""
    pythae_seconds = statistics.median(run.fit_seconds for run in pythae_runs)
    ours_seconds = statistics.median(curve.fit_seconds for curve in curves)
    pythae_elbo = statistics.median(run.neg_elbo for run in pythae_runs)
    ours_elbo = statistics.median(curve.neg_elbo[-1] for curve in curves)
    images = datamodule_for(args).num_images("train")
    print(f"\nFashionMNIST, {images} training images in memory, {args.max_epochs} epochs, batch {args.batch_size}, "
          f"lr {args.lr:g}; medians of {args.repeats} interleaved repeats, seeds {args.seed}–"
          f"{args.seed + args.repeats - 1}")
    print(f"  CPU: {cpu_description()}")
    print(f"  ours trains in {precision.describe()}; pythae in float32")
    print(f"  pythae {'fit':>7} {pythae_seconds:8.1f} s   test −ELBO {pythae_elbo:.2f} nats/image")
    print(f"  ours   {'fit':>7} {ours_seconds:8.1f} s   test −ELBO {ours_elbo:.2f} nats/image")
    print(f"  pythae/ours fit wall time = {pythae_seconds / ours_seconds:.3f}")
    gaps = [curve.neg_elbo[-1] - run.neg_elbo for curve, run in zip(curves, pythae_runs, strict=True)]
    print("  ours − pythae test −ELBO, same seed: " + ", ".join(f"{gap:+.2f}" for gap in gaps)
          + f" (median {statistics.median(gaps):+.2f}) nats/image")
    reached = [seconds_to_reach(curve, pythae_elbo) for curve in curves]
    if all(seconds is not None for seconds in reached):
        to_quality = statistics.median(reached)
        print(f"  ours reached pythae's test −ELBO {pythae_elbo:.2f} after {to_quality:.1f} s of training "
              f"(evaluated after each epoch)")
        print(f"  pythae/ours wall time to the same test −ELBO = {pythae_seconds / to_quality:.3f}")
    else:
        print(f"  ours did not reach pythae's test −ELBO {pythae_elbo:.2f} in {args.max_epochs} epochs in "
              f"{reached.count(None)} of {args.repeats} repeats: compare the fits' ratio with their −ELBO")


if __name__ == "__main__":
    main()
