"""Sample quality's cost: how fast the feature network reads images, and how long FID (with its bootstrap) and
precision/recall take on `--num-images` samples against as many test images, beside this CPU's float32 matmul rate
measured in the same run. The issue's target: FID on 10,000 samples of 28 × 28, both feature sets included, in under
30 s on 2 cores.

The "samples" are a seeded random subset of the training split, so the run also prints the sanity figure FID(train,
test) with its bootstrap error, precision and recall, all of which a good generator would match. The feature network
is the analysis's own: read from the cache, or trained there first (not counted in the rates).

    python benchmarks/fid_rate.py --data-root ../shared/datasets --data mnist
"""

import argparse
import os
import time

import torch
from baseline import matmul_gflops, ready_datamodule
from torch.utils.flop_counter import FlopCounterMode

from vae_lightning.analysis.metrics import seeded_subset
from vae_lightning.analysis.sample_quality.feature_network import extract
from vae_lightning.analysis.sample_quality.frechet import fid, fid_with_bootstrap
from vae_lightning.analysis.sample_quality.manifold import precision_recall
from vae_lightning.analysis.sample_quality.numbers import load_feature_network, source_splits


class Clock:
    """Wall seconds, and this process's CPU seconds: on a machine shared with other work the wall time stretches,
    while CPU seconds divided by the thread count stay what the wall time would be with the cores to ourselves."""

    def __init__(self) -> None:
        self.cpu_seconds = 0.0

    def __call__(self, function):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = function()
        self.cpu_seconds += time.process_time() - cpu_started
        return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA"))
    parser.add_argument("--data", default="mnist", choices=("mnist", "fashion"))
    parser.add_argument("--num-images", type=int, default=10000)
    parser.add_argument("--bootstrap", type=int, default=50, help="resamples for FID's error bar (analyze's default)")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--cache-dir", default=None, help="the feature-network cache (analyze's default if unset)")
    parser.add_argument("--matmul-size", type=int, default=2048)
    args = parser.parse_args()

    datamodule = ready_datamodule(args.data_root, 128, name=args.data)
    source = source_splits(datamodule)
    cached = load_feature_network(datamodule, source, args.cache_dir, torch.device("cpu"))
    train, test = source["train"], source["test"]
    samples = train.images[seeded_subset(len(train), args.num_images, seed=0)]
    reference = test.images[seeded_subset(len(test), args.num_images, seed=0)]
    count = len(samples) + len(reference)
    print(f"{args.data}: {len(samples)} training images as samples, {len(reference)} test images; feature network "
          f"{cached.path.name}, test accuracy {cached.record['test_accuracy']:.4f}; {torch.get_num_threads()} threads")

    extract(cached.network, samples[: args.batch_size], args.batch_size)  # warm-up: first-call kernel setup
    with FlopCounterMode(display=False) as counter:
        extract(cached.network, reference[:1], 1)
    fid_clock, manifold_clock = Clock(), Clock()
    (sample_features, _), sample_s = fid_clock(lambda: extract(cached.network, samples, args.batch_size))
    (reference_features, _), reference_s = fid_clock(lambda: extract(cached.network, reference, args.batch_size))
    features_s = sample_s + reference_s
    value, fid_s = Clock()(lambda: fid(sample_features, reference_features))
    estimate, bootstrap_s = fid_clock(lambda: fid_with_bootstrap(sample_features, reference_features, args.bootstrap,
                                                                 torch.Generator().manual_seed(0)))
    manifold, manifold_s = manifold_clock(lambda: precision_recall(sample_features, reference_features, args.k))
    ceiling = matmul_gflops(torch.float32, args.matmul_size)

    rate = counter.get_total_flops() * count / features_s / 1e9
    print(f"feature extraction: {count / features_s:,.0f} images/s ({count} images in {features_s:.2f} s), "
          f"{rate:.1f} GFLOP/s = {100 * rate / ceiling:.0f}% of the float32 matmul rate measured now "
          f"({ceiling:.1f} GFLOP/s)")
    print(f"FID: {fid_s:.3f} s once; with its bootstrap ({args.bootstrap} resamples) {bootstrap_s:.2f} s")
    print(f"precision and recall (k = {args.k}): {manifold_s:.2f} s")
    total, threads = features_s + bootstrap_s, torch.get_num_threads()
    print(f"FID on {len(samples)} samples, both feature sets and the bootstrap included: {total:.1f} s "
          f"(the target is 30 s for 10,000 on 2 cores); with precision and recall {total + manifold_s:.1f} s")
    print(f"the same in CPU seconds of this process: {fid_clock.cpu_seconds:.1f} s; with precision and recall "
          f"{fid_clock.cpu_seconds + manifold_clock.cpu_seconds:.1f} s ({threads} threads: at least "
          f"{fid_clock.cpu_seconds / threads:.1f} s of wall time with the cores to ourselves)")
    print(f"sanity: FID(train, test) = {value:.3f} ± {estimate.bootstrap_std:.3f} (bootstrap std), "
          f"precision {manifold.precision:.3f}, recall {manifold.recall:.3f}")


if __name__ == "__main__":
    main()
