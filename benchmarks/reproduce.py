"""Published likelihoods, reproduced: test-set −log p(x) of each row, trained and evaluated by the commands this
script prints, over seeds (mean ± sd), beside the published figure, its source and what differs.

Two tables share the machinery:
- `--table binarised` (default), the binarised-MNIST protocol of Burda et al. (2016): dynamic binarisation in
  training (a fresh Bernoulli draw per batch), a fixed binarisation of the test set (`data.binarize=dynamic`), the
  whole 10,000-image test set scored with the IWAE bound at K = `--num-samples` draws per image, and K =
  `--subset-samples` on a seeded `--subset-images` of them with the paired change from K to that larger K (the
  K-convergence check: a change well below zero means the bound is still falling). Rows: the VAE (k = 1, the default
  convolutional network), the IWAE (`model=iwae`, k = `--iwae-k`) and the VampPrior (`model=vamp`), on MNIST and
  FashionMNIST.
- `--table likelihoods`: one seed of the default VAE under each decoder likelihood (docs/likelihoods.md).

Each run trains with `python -m vae_lightning.train` into `<out>/<row>/seed-<s>/`; a finished run there is kept, so
rerunning only re-evaluates, and evaluations are cached beside the run. The budget is `--epochs` and, if given,
`--max-time` (DD:HH:MM:SS, Lightning's `max_time`, whichever ends first); `--tiny` shrinks network, data and K so
the whole pipeline runs in a minute on toy data (its numbers mean nothing).

    python benchmarks/reproduce.py --data-root ../shared/datasets --epochs 100 --seeds 0 1 2
    python benchmarks/reproduce.py --data-root ../shared/datasets --table likelihoods
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from vae_lightning.analysis.likelihood import iwae_log_likelihood, paired_difference
from vae_lightning.analysis.metrics import seeded_subset
from vae_lightning.runs.loading import open_run

BURDA = "Burda et al. 2016, Table 1, one stochastic layer"
BURDA_DIFFERS = ("their MLP (2 × 200 tanh units, 50-d latent) trained 3,280 epochs; ours the convolutional "
                 "network (32-d latent) at this budget")
VAMP_DIFFERS = ("their MLP (2 × 300 gated units, 40-d latent, 500 pseudo-inputs, β warm-up) trained up to 2,000 "
                "epochs; ours the convolutional network at this budget")


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    overrides: tuple[str, ...]
    published: str  # the published figure(s) and source
    differs: str  # what differs from the published protocol
    tiny_overrides: tuple[str, ...] = ()


def binarised_rows(iwae_k: int) -> list[Row]:
    """VAE, IWAE and VampPrior on MNIST and FashionMNIST, binarised as Burda et al. 2016."""
    rows = []
    for data in ("mnist", "fashion"):
        mnist = data == "mnist"
        none = ("none checked: Bauer & Mnih 2019 (Lars) report binarised FashionMNIST, but their table and protocol "
                "could not be read here")
        base = (f"data={data}", "data.binarize=dynamic")
        rows += [
            Row(f"{data}_vae", (*base, "model=conv_vae"),
                f"86.76 ({BURDA}, VAE k = 1); pythae 89.78 (its reproducibility table: binary MNIST, "
                "K = 200)" if mnist else none,
                BURDA_DIFFERS if mnist else "—"),
            Row(f"{data}_iwae_k{iwae_k}", (*base, "model=iwae", f"model.k={iwae_k}"),
                (f"{ {1: 86.76, 5: 85.54, 50: 84.78}.get(iwae_k, 'see')} ({BURDA}, IWAE k = {iwae_k}; k = 5: 85.54, "
                 "k = 50: 84.78); pythae 86.82 at k = 50 (binary MNIST)") if mnist else none,
                BURDA_DIFFERS if mnist else "—"),
            Row(f"{data}_vamp", (*base, "model=vamp"),
                "85.57 (Tomczak & Welling 2018, VampPrior, one layer); pythae 85.79 (binary MNIST)" if mnist else none,
                VAMP_DIFFERS if mnist else "—", tiny_overrides=("model.num_pseudo_inputs=8",)),
        ]
    return rows


def likelihood_rows() -> list[Row]:
    """The default VAE under each decoder likelihood (docs/likelihoods.md)."""
    none = "no directly comparable published figure known to us"
    return [
        Row("mnist_dynamic_bernoulli", ("data=mnist", "data.binarize=dynamic", "model.likelihood=bernoulli"),
            f"86.76 (VAE) and 84.78 (IWAE, k = 50): {BURDA}", BURDA_DIFFERS),
        Row("fashion_dynamic_bernoulli", ("data=fashion", "data.binarize=dynamic", "model.likelihood=bernoulli"),
            none, "—"),
        Row("fashion_continuous_bernoulli", ("data=fashion", "model.likelihood=continuous_bernoulli"), none, "—"),
        Row("fashion_discretized_logistic", ("data=fashion", "model.likelihood=discretized_logistic"), none, "—"),
    ]


TINY = ("model.latent_dim=4", "model.channels=[4,8]", "model.hidden_dim=16", "data.batch_size=16",
        "data.eval_batch_size=32")


def train_command(row: Row, run_dir: Path, seed: int, args: argparse.Namespace) -> list[str]:
    budget = [f"trainer.max_epochs={args.epochs}"] + ([f"+trainer.max_time={args.max_time}"] if args.max_time else [])
    tiny = [*TINY, *row.tiny_overrides] if args.tiny else []
    return ["python", "-m", "vae_lightning.train", *row.overrides, *budget, f"seed={seed}", f"threads={args.threads}",
            *tiny, *args.overrides, f"hydra.run.dir={run_dir}"]


def evaluate(run_dir: Path, args: argparse.Namespace) -> dict[str, float]:
    """The IWAE bound and −ELBO on the test images, and the bound at the larger K on a seeded subset of them with its
    paired change from K, nats per image."""
    _, model, datamodule = open_run(run_dir, device="cpu", root=args.data_root)
    test = datamodule.split("test")
    chosen = torch.arange(len(test)) if args.num_images is None else seeded_subset(len(test), args.num_images, 0)
    images = test.images[chosen].float().div(255)
    started = time.perf_counter()
    print(f"Evaluating {run_dir}: IWAE bound, K = {args.num_samples} on {len(images)} test images …", flush=True)
    full = iwae_log_likelihood(model, images, args.num_samples, batch_size=50,
                               generator=torch.Generator().manual_seed(0), progress=True)
    subset = seeded_subset(len(chosen), min(args.subset_images, len(chosen)), 1)
    print(f"  and K = {args.subset_samples} on {len(subset)} of them …", flush=True)
    larger = iwae_log_likelihood(model, images[subset], args.subset_samples, batch_size=50,
                                 generator=torch.Generator().manual_seed(1), nested=(args.num_samples,), progress=True)
    change = paired_difference(larger.neg_log_likelihood_per_image, larger.nested[args.num_samples])
    return {"num_images": full.num_images, "iwae": full.neg_log_likelihood, "standard_error": full.standard_error,
            "neg_elbo": full.neg_elbo_per_image.double().mean().item(), "subset_images": larger.num_images,
            "iwae_subset": larger.neg_log_likelihood, "change": change.mean, "change_se": change.standard_error,
            "eval_seconds": round(time.perf_counter() - started, 1)}


def run_row(row: Row, seed: int, args: argparse.Namespace) -> dict[str, float]:
    """Train (unless finished) and evaluate (unless cached) one row at one seed."""
    run_dir = Path(args.out).resolve() / row.name / f"seed-{seed}"
    command = train_command(row, run_dir, seed, args)
    print("$", " ".join(command), flush=True)
    trained = subprocess.run([sys.executable, *command[1:]], env={**os.environ, "VAE_LIGHTNING_DATA": args.data_root})
    if trained.returncode != 0:
        sys.exit(f"Training {row.name} with seed {seed} failed (exit status {trained.returncode}); the message above "
                 "says why. Rerunning this script continues where it stopped.")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cached = run_dir / (f"reproduce_K{args.num_samples}_N{args.num_images or 'all'}_K{args.subset_samples}"
                        f"_N{args.subset_images}.json")
    if not cached.exists():
        cached.write_text(json.dumps(evaluate(run_dir, args), indent=2))
    numbers = {**json.loads(cached.read_text()), "fit_seconds": metrics["fit_seconds"],
               "epochs": metrics["epochs_trained"]}
    print(json.dumps({"row": row.name, "seed": seed, **numbers}), flush=True)
    return numbers


def spread(values: list[float], digits: int = 2) -> str:
    """mean ± sd over seeds (no sd for one seed)."""
    mean = statistics.fmean(values)
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def table(measured: list[tuple[Row, list[dict[str, float]]]], args: argparse.Namespace) -> str:
    lines = [f"| row | training | test −ELBO | IWAE K={args.num_samples} | IWAE K={args.subset_samples} (subset) | "
             f"K={args.num_samples} → {args.subset_samples} change (paired) | fit s | published −log p(x), source | "
             "what differs |", "|---|---|---|---|---|---|---|---|---|"]
    for row, runs in measured:
        column = {key: [run[key] for run in runs] for key in runs[0]}
        lines.append(
            f"| {row.name} | `{' '.join(row.overrides)}`, {spread(column['epochs'], 0)} epochs | "
            f"{spread(column['neg_elbo'])} | {spread(column['iwae'])} | {spread(column['iwae_subset'])} "
            f"({runs[0]['subset_images']} images) | {spread(column['change'])} | {spread(column['fit_seconds'], 0)} | "
            f"{row.published} | {row.differs} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--table", choices=("binarised", "likelihoods"), default="binarised")
    parser.add_argument("--out", default="outputs/reproduce")
    parser.add_argument("--rows", nargs="*", help="row names to run (default: every row of the table)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100, help="training epochs per run (default 100)")
    parser.add_argument("--max-time", help="a wall-time limit per run, DD:HH:MM:SS (Lightning's trainer.max_time)")
    parser.add_argument("--iwae-k", type=int, default=50, help="k of model=iwae in training (default 50)")
    parser.add_argument("--num-images", type=int, help="a seeded random N of the test images (default: all)")
    parser.add_argument("--num-samples", type=int, default=1000, help="K of the IWAE bound (default 1000)")
    parser.add_argument("--subset-images", type=int, default=500, help="images of the larger-K check (default 500)")
    parser.add_argument("--subset-samples", type=int, default=5000, help="K of the larger-K check (default 5000)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="a toy network, 16 test images, K = 4 and 8: a smoke run")
    parser.add_argument("--overrides", nargs="*", default=[], help="more training overrides, key=value")
    args = parser.parse_args()
    if args.tiny:
        args.num_images, args.num_samples, args.subset_images, args.subset_samples = 16, 4, 8, 8
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    rows = binarised_rows(args.iwae_k) if args.table == "binarised" else likelihood_rows()
    chosen = [row for row in rows if args.rows is None or row.name in args.rows]
    unknown = set(args.rows or ()) - {row.name for row in rows}
    if unknown:
        sys.exit(f"Unknown rows {sorted(unknown)}: the {args.table} table has {[row.name for row in rows]}.")
    measured = [(row, [run_row(row, seed, args) for seed in args.seeds]) for row in chosen]
    images = "all test images" if args.num_images is None else f"a seeded random {args.num_images} test images"
    print(f"\nTest split, {images}, fixed binarisation; nats per image, mean ± sd over seeds {args.seeds}; budget "
          f"{args.epochs} epochs{f' or {args.max_time}' if args.max_time else ''} per run.\n")
    print(table(measured, args))


if __name__ == "__main__":
    main()
