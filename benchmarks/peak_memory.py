"""Peak resident memory of training the default model at several batch sizes: what a batch size costs in RAM.

Runs a few training steps (`baseline.bare_step`, the model's own work; the Lightning Trainer adds a fixed amount
around it) at each batch size in increasing order and reads the process's peak RSS after each. Peak RSS never
goes down, so each size is measured after the smaller ones, and what it adds over the process before training
(Python, torch, the model and its optimiser) is the memory that batch size needs.

    python benchmarks/peak_memory.py --batch-sizes 64 128 256 512 1024
"""

import argparse
import resource
import sys

import torch
from baseline import bare_model, bare_step


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def peak_after_steps(batch_size: int, steps: int, image_shape: tuple[int, int, int]) -> float:
    """Peak RSS in MiB after `steps` training steps of a fresh default model at `batch_size`."""
    model, optimizer = bare_model(image_shape=image_shape)
    x = torch.rand(batch_size, *image_shape)
    for _ in range(steps):
        bare_step(model, optimizer, x)
    return peak_rss_mib()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    image_shape = (1, 28, 28)
    peak_rss_mib_before = peak_after_steps(1, args.steps, image_shape)
    print(f"Default model on 28×28 images, {args.steps} steps per size, {torch.get_num_threads()} threads; "
          f"peak RSS with batch 1: {peak_rss_mib_before:.0f} MiB")
    print("  batch   peak RSS MiB   added MiB   added KiB/image")
    for batch_size in sorted(args.batch_sizes):
        peak = peak_after_steps(batch_size, args.steps, image_shape)
        added = peak - peak_rss_mib_before
        print(f"  {batch_size:5d}   {peak:12.0f}   {added:9.1f}   {added * 1024 / batch_size:15.1f}")


if __name__ == "__main__":
    main()
