"""VAEs beside a GAN and a diffusion model on the same data: sample quality (FID with its error, precision, recall),
likelihood where the model has one, training time and sampling time, over seeds, and one grid of samples per model
side by side from the same seed.

Rows: the VAE (β = 1), the β-VAE (β = 4), the VampPrior VAE (`model=vamp`), DCGAN (`model=dcgan`) and DDPM
(`model=ddpm`, DDIM sampling). Two budgets, one column each:
- `--budget equal`: every model trains for the same wall time, `--max-time` (Lightning's `trainer.max_time`);
- `--budget own`: each model for its own sensible number of epochs (`--epochs vae=10 dcgan=5 ddpm=3 ...`).
`--tiny` shrinks every network so the whole pipeline runs in a few minutes on toy data (its numbers mean nothing).

Each run is `python -m vae_lightning.train ... analyze=true` into `<out>/<data>/<budget>/<model>/seed-<s>/`, so its
numbers are the analysis's own (`analysis/metrics.json`: FID against the test split through the data's feature
network, with `--num-samples` samples); a finished run is kept and reused. Sampling time is measured here, on the
CPU, with the threads torch has, as seconds per 1,000 images.

    python benchmarks/generative_comparison.py --data-root ../shared/datasets --data mnist --budget equal \\
        --max-time 00:00:10:00 --seeds 0 1 2
    python benchmarks/generative_comparison.py --data-root ../shared/datasets --data fashion --budget own
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from matplotlib.figure import Figure

from vae_lightning.analysis.plots import show_images
from vae_lightning.analysis.sample_quality.numbers import draw_samples
from vae_lightning.runs.loading import open_run

MODELS = {
    "vae": ("model.beta=1",),
    "beta_vae_4": ("model.beta=4",),
    "vamp": ("model=vamp",),
    "dcgan": ("model=dcgan",),
    "ddpm": ("model=ddpm",),
}
OWN_EPOCHS = {"vae": 10, "beta_vae_4": 10, "vamp": 10, "dcgan": 5, "ddpm": 3}
VAE_TINY = ("model.latent_dim=4", "model.channels=[4,8]", "model.hidden_dim=16")
TINY = {"vae": VAE_TINY, "beta_vae_4": VAE_TINY, "vamp": (*VAE_TINY, "model.num_pseudo_inputs=8"),
        "dcgan": ("model.latent_dim=8", "model.width=4"),
        "ddpm": ("model.width=8", "model.timesteps=30", "model.sample_steps=3")}
EQUAL_BUDGET_EPOCHS = 10_000  # the wall-time limit ends these runs, not the epochs
GRID_SAMPLES = 64


def train(model: str, seed: int, run_dir: Path, args: argparse.Namespace) -> dict:
    """Train (unless finished) and analyse one model at one seed; its metrics.json and analysis/metrics.json."""
    if not (run_dir / "analysis" / "metrics.json").exists():
        budget = ([f"trainer.max_epochs={EQUAL_BUDGET_EPOCHS}", f"+trainer.max_time={args.max_time}"]
                  if args.budget == "equal" else [f"trainer.max_epochs={args.epochs[model]}"])
        command = ["vae_lightning.train", f"data={args.data}", *MODELS[model], *budget, f"seed={seed}",
                   "analyze=true", f'analysis=["sample_quality.num_samples={args.num_samples}"]',
                   *(TINY[model] if args.tiny else ()), *args.overrides,
                   f"hydra.run.dir={run_dir}"]
        print("+ python -m " + " ".join(command), flush=True)
        environment = {**os.environ, "VAE_LIGHTNING_DATA": args.data_root}
        done = subprocess.run([sys.executable, "-m", *command], env=environment)
        if done.returncode != 0:
            sys.exit(f"{model} with seed {seed} failed (exit status {done.returncode}); the lines above say why. "
                     "Running this script again continues where it stopped.")
    return {"run": json.loads((run_dir / "metrics.json").read_text()),
            "analysis": json.loads((run_dir / "analysis" / "metrics.json").read_text())}


def sample_first_run(run_dir: Path, args: argparse.Namespace) -> tuple[float, torch.Tensor]:
    """Wall seconds to draw 1,000 samples on the CPU (after a warm-up draw), and `GRID_SAMPLES` samples from
    generator seed 0 for the side-by-side grid."""
    _, model, _ = open_run(run_dir, "cpu", root=args.data_root, download=False)
    grid = draw_samples(model, GRID_SAMPLES, GRID_SAMPLES, seed=0, labels=None)  # also the warm-up
    started = time.perf_counter()
    draw_samples(model, 1000, 500, seed=0, labels=None)
    return time.perf_counter() - started, grid


def likelihood(numbers: dict) -> str:
    """The model's likelihood or bound, with its unit, or why there is none."""
    analysis, test = numbers["analysis"], numbers["run"].get("test", {})
    if "iwae" in analysis:
        return f"IWAE {analysis['iwae']['neg_log_likelihood']:.2f} nats/image"
    if "bits_per_dim" in test:
        return f"{test['bits_per_dim']:.3f} bits/dim (bound)"
    return "none (a GAN has no likelihood)"


def spread(values: list[float], digits: int, single_error: float | None = None) -> str:
    """mean ± sd over seeds; a single seed with `single_error` (e.g. FID's bootstrap sd) gets that instead."""
    mean = statistics.fmean(values)
    if len(values) > 1:
        return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"
    return f"{mean:.{digits}f}" + (f" ± {single_error:.{digits}f} (bootstrap)" if single_error is not None else "")


def table(results: dict[str, list[dict]], sampling: dict[str, float], first_seed: int) -> str:
    lines = [f"| model | trained | fit s | FID | precision | recall | likelihood (seed {first_seed}) | "
             "sampling s / 1,000 |",
             "|---|---|---|---|---|---|---|---|"]
    for model, runs in results.items():
        quality = [run["analysis"]["sample_quality"] for run in runs]
        epochs = [run["run"]["epochs_trained"] for run in runs]
        lines.append(
            f"| {model} | {spread(epochs, 0)} epochs, {runs[0]['run']['global_step']} steps (seed {first_seed}) | "
            f"{spread([run['run']['fit_seconds'] for run in runs], 1)} | "
            f"{spread([q['fid'] for q in quality], 2, quality[0]['fid_bootstrap_std'])} | "
            f"{spread([q['precision'] for q in quality], 3)} | {spread([q['recall'] for q in quality], 3)} | "
            f"{likelihood(runs[0])} | {sampling[model]:.2f} |")
    return "\n".join(lines)


def side_by_side(grids: dict[str, torch.Tensor], path: Path, args: argparse.Namespace) -> None:
    """One grid of samples per model (its first seed's run), drawn from the same generator seed."""
    figure = Figure(figsize=(2.6 * len(grids), 3.0), layout="constrained")
    for ax, (model, samples) in zip(figure.subplots(1, len(grids), squeeze=False)[0], grids.items(), strict=True):
        show_images(ax, samples, nrow=8)
        ax.set_title(model)
    figure.suptitle(f"{args.data}: samples of each model's seed-{args.seeds[0]} run, generator seed 0 "
                    f"({args.budget} budget)")
    figure.savefig(path, dpi=150)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA"))
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--budget", choices=("equal", "own"), default="equal")
    parser.add_argument("--max-time", default="00:00:10:00", help="the equal budget, DD:HH:MM:SS (default 10 min)")
    parser.add_argument("--epochs", nargs="*", default=[], metavar="MODEL=N", help="the own budget's epochs")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--num-samples", type=int, default=10_000, help="samples (and test images) for FID")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/outputs/generative_comparison"))
    parser.add_argument("--overrides", nargs="*", default=[], help="training overrides for every run")
    parser.add_argument("--tiny", action="store_true", help="toy networks (with --overrides for toy data): a smoke run")
    args = parser.parse_args()
    args.epochs = {**OWN_EPOCHS, **{model: int(n) for model, n in (entry.split("=", 1) for entry in args.epochs)}}
    return args


def main() -> None:
    args = parse_args()
    folder = args.out.resolve() / args.data / args.budget
    run_dirs = {model: {seed: folder / model / f"seed-{seed}" for seed in args.seeds} for model in args.models}
    results = {model: [train(model, seed, run_dir, args) for seed, run_dir in seeds.items()]
               for model, seeds in run_dirs.items()}
    sampled = {model: sample_first_run(seeds[args.seeds[0]], args) for model, seeds in run_dirs.items()}
    sampling = {model: seconds for model, (seconds, _) in sampled.items()}
    grid = folder / "samples_side_by_side.png"
    side_by_side({model: samples for model, (_, samples) in sampled.items()}, grid, args)
    budget = (f"the same wall time for every model, {args.max_time} (DD:HH:MM:SS)" if args.budget == "equal"
              else "each model's own epochs: " + ", ".join(f"{m} {args.epochs[m]}" for m in args.models))
    print(f"\n{args.data}, budget: {budget}; seeds {args.seeds} (mean ± sd; FID's ± for one seed is its bootstrap "
          f"sd); FID, precision and recall of {args.num_samples} samples against as many test images through the "
          f"data's feature network; sampling on this CPU with {torch.get_num_threads()} threads.\n")
    print(table(results, sampling, args.seeds[0]))
    print("\nThe VAE rows' likelihood is the Bernoulli decoder's on grey pixels, not −log p(x) of the data, so it "
          f"does not compare with DDPM's bits/dim. Samples side by side: {grid}")


if __name__ == "__main__":
    main()
