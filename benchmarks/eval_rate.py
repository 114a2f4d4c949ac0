"""The analysis's evaluation path: how fast the IWAE bound and the encoder run in float32 and in bfloat16 autocast,
as a share of this CPU's matmul rate in the same dtype measured in the same run, and how far bfloat16 moves the bound.

Rates: the default model's decoder on K = `--num-samples` codes per image for `--images` images (the IWAE's inner
loop, `iwae_log_likelihood` with the analysis's batch and chunk sizes), and its encoder on batches of
`--encode-batch` images (the probes' and the factor metrics' encoding), both laid out as the analysis runs them
(`for_evaluation`); FLOPs by PyTorch's FLOP counter on the layers as trained (the sub-pixel form of the decoder's
output layer also multiplies zero taps, which are not counted as work). The shift is the analysis's own check
(`bfloat16_check`): −log p̂_K and −ELBO in bfloat16 minus float32 on the same images and the same draws, paired,
on a trained run (`--run`; without one, a model just initialised, which says little).

    python benchmarks/eval_rate.py --data-root ../shared/datasets [--run outputs/<a trained MNIST run>]
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from baseline import matmul_gflops, ready_datamodule
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode

from vae_lightning.analysis.likelihood import iwae_log_likelihood
from vae_lightning.analysis.likelihood_numbers import bfloat16_check
from vae_lightning.data.base import as_float_images
from vae_lightning.engine.precision import cpu_bf16_flags
from vae_lightning.models import BetaVAE
from vae_lightning.runs.loading import for_evaluation, open_run

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def flops(function: Callable[[], None]) -> float:
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


def seconds(function: Callable[[], None], repeats: int) -> float:
    """Median wall seconds of `repeats` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA"))
    parser.add_argument("--run", help="a trained run directory: its model, and the bound's bf16 shift on its images")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--encode-batch", type=int, default=1000)
    parser.add_argument("--check-images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048)
    args = parser.parse_args()

    if args.run:
        _, model, datamodule = open_run(args.run, "cpu", root=args.data_root, download=False)
        images = datamodule.split("test").images
    else:
        model, images = for_evaluation(BetaVAE()), ready_datamodule(args.data_root, 128).split("test").images
    images = as_float_images(images[: max(args.images, args.encode_batch, args.check_images)])
    iwae_images, encode_images = images[: args.images], images[: args.encode_batch]
    settings = OmegaConf.create({"num_samples": args.num_samples, "batch_size": 100})

    def iwae(on: BetaVAE = model) -> None:
        iwae_log_likelihood(on, iwae_images, args.num_samples, settings.batch_size, torch.Generator().manual_seed(0))

    # The same network with its layers as trained: the work is counted on it, and it is the baseline of the layout
    as_trained = BetaVAE(**model.hparams).eval()

    def encode() -> None:
        with torch.no_grad():
            model.vae.encoder(encode_images)

    decoded = args.images * args.num_samples
    print(f"CPU: torch capability {torch.backends.cpu.get_cpu_capability()}, bfloat16 flags "
          f"{' '.join(cpu_bf16_flags()) or 'none'}; {torch.get_num_threads()} threads")
    for name, dtype in DTYPES.items():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is torch.bfloat16):
            iwae_flops, encode_flops = flops(lambda: iwae(as_trained)), flops(encode)
            iwae_s, encode_s = seconds(iwae, args.repeats), seconds(encode, args.repeats)
            as_trained_s = seconds(lambda: iwae(as_trained), args.repeats)
        ceiling = matmul_gflops(dtype, args.matmul_size)
        for path, work, took, unit, count in (("IWAE", iwae_flops, iwae_s, "decoded samples", decoded),
                                              ("encoder", encode_flops, encode_s, "images", len(encode_images))):
            rate = work / took / 1e9
            print(f"{name:9s} {path:8s} {count / took:10,.0f} {unit}/s  {rate:7.1f} GFLOP/s = "
                  f"{100 * rate / ceiling:3.0f}% of the {name} matmul rate measured now ({ceiling:.1f} GFLOP/s)")
        print(f"{name:9s} IWAE laid out for evaluation: {as_trained_s / iwae_s:.2f}x the layers as trained "
              f"({decoded / as_trained_s:,.0f} decoded samples/s)")
    labels = torch.zeros(len(images), dtype=torch.long)
    check = bfloat16_check(model, images[: args.check_images], labels[: args.check_images],
                           OmegaConf.create({**settings, "precision_check_images": args.check_images}), seed=0)
    for term in ("neg_log_likelihood", "neg_elbo"):
        shift = check[f"{term}_shift"]
        print(f"bfloat16 minus float32, {term}: {shift['mean']:+.4f} ± {shift['standard_error']:.4f} nats/image "
              f"(paired s.e., {check['num_images']} test images, K = {check['num_samples']}, the same draws)")
    print(f"within the analysis's tolerance of {check['tolerance_nats']} nats: {check['bfloat16_used']}")


if __name__ == "__main__":
    main()
