"""The README's likelihood table: test-set −log p(x) of four settings, each trained and evaluated here by the commands
this script prints, beside the published figures for the same protocol.

Each row trains with `python -m vae_lightning.train` (the default convolutional VAE, 32-d latent, β = 1, seed 0) into
`<out>/<row>/` — a finished run there is kept, so rerunning only re-evaluates — then evaluates its best checkpoint on
a seeded random subset of the test split (`analysis.metrics.iwae_images`, the subset `analyze` uses) with the IWAE
bound at K draws per image (Burda et al. 2016) and the negative ELBO on the same draws. The s.e. is the spread over
images / √N, which includes each image's Monte Carlo noise (see `analysis/likelihood.py`); the ELBO − IWAE gap is
paired per image. A convergence check re-runs K draws on a seeded random `--convergence-images` of those images and
reports how much the bound moved from the first K/5 draws to all K, paired per image: a change well below zero means
the K-draw bound is still falling, so the true −log p(x) lies lower still. Binarised test images are the data
module's fixed seeded draw.

    python benchmarks/likelihood_table.py --data-root ../shared/datasets [--num-images 200 --num-samples 5000]
"""

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from vae_lightning.analysis.likelihood import iwae_log_likelihood, paired_difference
from vae_lightning.analysis.metrics import iwae_images
from vae_lightning.models.likelihoods import bits_per_dim
from vae_lightning.runs.loading import open_run


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    data: str
    binarize: str
    likelihood: str
    epochs: int
    published: str


ROWS = (
    Row("mnist_dynamic_bernoulli", "mnist", "dynamic", "bernoulli", 10,
        "86.76 (VAE) and 84.78 (IWAE, k = 50 in training): Burda et al. 2016, Table 1, one stochastic layer of 50 "
        "units, MLP encoder/decoder, 3,280 passes over the 60k training images; IWAE k = 5000 on the full 10k test "
        "set"),
    Row("fashion_dynamic_bernoulli", "fashion", "dynamic", "bernoulli", 2,
        "no directly comparable published figure known to us"),
    Row("fashion_continuous_bernoulli", "fashion", "none", "continuous_bernoulli", 2,
        "no directly comparable published figure known to us"),
    Row("fashion_discretized_logistic", "fashion", "none", "discretized_logistic", 2,
        "no directly comparable published figure known to us"),
)


def train_command(row: Row, run_dir: Path, threads: int) -> list[str]:
    return ["python", "-m", "vae_lightning.train", f"data={row.data}", f"data.binarize={row.binarize}",
            f"model.likelihood={row.likelihood}", f"trainer.max_epochs={row.epochs}", "seed=0", f"threads={threads}",
            "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"]


def evaluate(run_dir: Path, num_images: int, num_samples: int, seed: int, data_root: str) -> dict[str, object]:
    """−ELBO and −log p̂_K(x) on the same seeded random test images, nats per image, with bits/dim where defined."""
    _, model, datamodule = open_run(run_dir, device="cpu", root=data_root)
    test = datamodule.split("test")
    chosen = iwae_images(len(test), num_images, seed)
    started = time.perf_counter()
    result = iwae_log_likelihood(model, test.images[chosen].float().div(255), num_samples, batch_size=50,
                                 generator=torch.Generator().manual_seed(seed), progress=True)
    seconds = time.perf_counter() - started
    gap = paired_difference(result.neg_elbo_per_image, result.neg_log_likelihood_per_image)
    numbers: dict[str, object] = {
        "num_images": result.num_images, "of_test_images": len(test), "subset_seed": seed, "num_samples": num_samples,
        "neg_elbo": result.neg_elbo_per_image.double().mean().item(), "iwae": result.neg_log_likelihood,
        "standard_error": result.standard_error,
        "elbo_iwae_gap": gap.mean, "gap_standard_error": gap.standard_error, "seconds": round(seconds, 1),
        "image_samples_per_second": round(result.num_images * num_samples / seconds),
        "quantity": model.describe_likelihood(datamodule.pixels_are_binary())["quantity"],
    }
    if model.likelihood.discrete_8bit:
        num_dims = math.prod(model.hparams.image_shape)
        nats = model.likelihood.discrete_nats(torch.tensor(result.neg_log_likelihood), num_dims)
        numbers["bits_per_dim"] = float(bits_per_dim(nats, num_dims))
    return numbers


def convergence(run_dir: Path, num_images: int, of_images: int, num_samples: int, seed: int,
                data_root: str) -> dict[str, object]:
    """The paired change of the bound from K/5 to K draws on a seeded random `num_images` of the evaluated images."""
    _, model, datamodule = open_run(run_dir, device="cpu", root=data_root)
    test = datamodule.split("test")
    evaluated = iwae_images(len(test), of_images, seed)
    chosen = evaluated[iwae_images(len(evaluated), num_images, seed + 1)]
    smaller = num_samples // 5
    result = iwae_log_likelihood(model, test.images[chosen].float().div(255), num_samples, batch_size=50,
                                 generator=torch.Generator().manual_seed(seed + 1), progress=True, nested=(smaller,))
    change = paired_difference(result.neg_log_likelihood_per_image, result.nested[smaller])
    return {"num_images": result.num_images, "from_k": smaller, "to_k": num_samples, "change": change.mean,
            "change_standard_error": change.standard_error}


def table(rows: list[tuple[Row, dict[str, object]]]) -> str:
    lines = ["| data, p(x\\|z) | training | −ELBO | IWAE −log p(x) ± s.e. | ELBO − IWAE (paired) | K/5 → K change "
             "(paired) | bits/dim | published −log p(x), same protocol |", "|---|---|---|---|---|---|---|---|"]
    for row, n in rows:
        c = n["convergence"]
        bits = f"{n['bits_per_dim']:.3f}" if "bits_per_dim" in n else "—"
        lines.append(
            f"| {row.data}, binarize={row.binarize}, {row.likelihood} | {row.epochs} epochs | {n['neg_elbo']:.2f} | "
            f"{n['iwae']:.2f} ± {n['standard_error']:.2f} | {n['elbo_iwae_gap']:.2f} ± {n['gap_standard_error']:.2f} | "
            f"{c['change']:+.2f} ± {c['change_standard_error']:.2f} ({c['num_images']} images) | {bits} | "
            f"{row.published} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--out", default="outputs/likelihood_table")
    parser.add_argument("--num-images", type=int, default=200, help="seeded random test images (default 200)")
    parser.add_argument("--num-samples", type=int, default=5000, help="K of the IWAE bound (default 5000)")
    parser.add_argument("--convergence-images", type=int, default=50,
                        help="images of the K/5 → K convergence check, a seeded random subset of those evaluated")
    parser.add_argument("--seed", type=int, default=0, help="the test subset and the IWAE draws")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", nargs="*", default=[row.name for row in ROWS], help="row names to run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    measured = []
    for row in (row for row in ROWS if row.name in args.rows):
        run_dir = Path(args.out).resolve() / row.name
        command = train_command(row, run_dir, args.threads)
        print("$", " ".join(command), flush=True)
        subprocess.run([sys.executable, *command[1:]], check=True,
                       env={**os.environ, "VAE_LIGHTNING_DATA": args.data_root})
        cached = run_dir / f"likelihood_table_K{args.num_samples}_N{args.num_images}_seed{args.seed}.json"
        if not cached.exists():
            cached.write_text(json.dumps(evaluate(run_dir, args.num_images, args.num_samples, args.seed,
                                                  args.data_root), indent=2))
        numbers = json.loads(cached.read_text())
        checked = run_dir / (f"likelihood_convergence_K{args.num_samples}_N{args.convergence_images}_of"
                             f"{args.num_images}_seed{args.seed}.json")
        if not checked.exists():
            checked.write_text(json.dumps(convergence(run_dir, args.convergence_images, args.num_images,
                                                      args.num_samples, args.seed, args.data_root), indent=2))
        numbers["convergence"] = json.loads(checked.read_text())
        print(json.dumps(numbers), flush=True)
        measured.append((row, numbers))
    print(f"\nTest split, a seeded random {args.num_images} images (seed {args.seed}), IWAE K = {args.num_samples}; "
          "nats per image.\n")
    print(table(measured))


if __name__ == "__main__":
    main()
