"""What the VampPrior's mixture prior costs in the IWAE bound: the bound of one VampPrior (`model=vamp`, 500
pseudo-inputs by default) scored under its own prior against the same network, the same images and the same draws
scored under N(0, I), interleaved `--repeats` times in this process. The ratio is the bound's time with the mixture
over its time without, so it holds on a busy machine; the work is that of K = `--num-samples` draws for each of
`--images` binarised test images, at the analysis's batch size (the weights are as initialised: the cost does not
depend on them).

    python benchmarks/prior_cost.py --data-root ../shared/datasets
"""

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from baseline import ready_datamodule

from vae_lightning.analysis.likelihood import iwae_log_likelihood
from vae_lightning.data.base import as_float_images
from vae_lightning.models import VAE, VampPrior
from vae_lightning.runs.loading import for_evaluation


@contextmanager
def standard_normal_prior(model: VampPrior) -> Iterator[None]:
    """The same model scoring its codes under N(0, I): the baseline that costs nothing beyond the decoder."""
    model.log_prior = VAE.log_prior.__get__(model)
    try:
        yield
    finally:
        del model.log_prior


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA"))
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--pseudo-inputs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = for_evaluation(VampPrior(num_pseudo_inputs=args.pseudo_inputs, likelihood="bernoulli"))
    images = as_float_images(ready_datamodule(args.data_root, 128).split("test").images[: args.images]).bernoulli()

    bounds = {}

    def bound_seconds(prior: str) -> float:
        started = time.perf_counter()
        bounds[prior] = iwae_log_likelihood(model, images, args.num_samples, batch_size=50,
                                            generator=torch.Generator().manual_seed(0)).neg_log_likelihood
        return time.perf_counter() - started

    bound_seconds("mixture")  # warm-up
    own, standard = [], []
    for _ in range(args.repeats):
        own.append(bound_seconds("mixture"))
        with standard_normal_prior(model):
            standard.append(bound_seconds("N(0, I)"))
    print(f"CPU: torch capability {torch.backends.cpu.get_cpu_capability()}; {torch.get_num_threads()} threads")
    print(f"IWAE bound, K = {args.num_samples} on {len(images)} images, medians of {args.repeats} interleaved repeats:")
    print(f"  under the mixture of {args.pseudo_inputs} pseudo-inputs  {statistics.median(own):9.3f} s  "
          f"(−log p̂ {bounds['mixture']:.4f} nats/image)")
    print(f"  under N(0, I), the same network     {statistics.median(standard):9.3f} s  "
          f"(−log p̂ {bounds['N(0, I)']:.4f} nats/image)")
    print(f"mixture / N(0, I): {statistics.median(own) / statistics.median(standard):.2f}x")


if __name__ == "__main__":
    main()
