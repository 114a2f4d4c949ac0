"""Final quality of the defaults: what `python -m vae_lightning.train` (README's first command) ends at, over seeds,
on each dataset the defaults serve, in each precision — and, with `--vary`, under alternative settings.

Each configuration is the training CLI itself, run as a user runs it (a subprocess, the real Hydra composition, the
default budget unless `--overrides` changes it), once per seed. The report gives, per dataset and configuration, the
test negative ELBO (β = 1, nats/image, the whole test split, the best checkpoint by validation −ELBO) and the test KL
as mean ± sd over seeds, the seeds whose posterior collapsed (test KL below `--collapse-kl` nats), the median fit
time, and each configuration's paired difference from the first (the same seeds, so the same initial weights,
validation split and batch order): mean ± sd over seeds.

    python benchmarks/default_quality.py --data-root ../shared/datasets
    python benchmarks/default_quality.py --data mnist fashion --precisions auto 32-true --vary optimizer.lr=1e-3,2e-3

Finished runs are kept in `--out` (default benchmarks/outputs/default_quality) and reused on a rerun, so an
interrupted benchmark continues where it stopped.
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from vae_lightning.engine.precision import AUTO, choose_precision

COLLAPSE_KL = 1.0  # nats/image: a test KL below this means the decoder ignores the code


def configurations(precisions: list[str], vary: list[str]) -> list[tuple[str, ...]]:
    """Every combination of a precision and one value of each `--vary key=v1,v2` setting, as CLI overrides."""
    axes = [[f"trainer.precision={precision}" for precision in precisions]]
    for setting in vary:
        key, values = setting.split("=", 1)
        axes.append([f"{key}={value}" for value in values.split(",")])
    return list(itertools.product(*axes))


def run_directory(out: Path, dataset: str, configuration: tuple[str, ...], seed: int) -> Path:
    """A folder per run whose name Hydra's override grammar accepts in hydra.run.dir (no `=` or `,`)."""
    name = "_".join(override.replace("=", "-").replace("/", "-") for override in configuration)
    return out / dataset / name / f"seed-{seed}"


def train(run_dir: Path, dataset: str, configuration: tuple[str, ...], seed: int, overrides: list[str],
          data_root: str | None) -> dict:
    """One training run through the CLI; its metrics.json (reused when the run already finished)."""
    if not (run_dir / "metrics.json").exists():
        command = [sys.executable, "-m", "vae_lightning.train", f"data={dataset}", f"seed={seed}", *configuration,
                   *overrides, f"hydra.run.dir={run_dir}"]
        env = {**os.environ, **({"VAE_LIGHTNING_DATA": data_root} if data_root else {})}
        print("+", " ".join(command[1:]), flush=True)
        if subprocess.run(command, env=env).returncode != 0:
            sys.exit(f"Training {dataset} with seed {seed} ({' '.join(configuration)}) failed; the message above says "
                     "why. Rerunning this benchmark continues where it stopped.")
    return json.loads((run_dir / "metrics.json").read_text())


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def report(dataset: str, results: dict[tuple[str, ...], dict[int, dict]], collapse_kl: float) -> list[str]:
    """Markdown rows: one per configuration, the first being the reference of the paired differences."""
    reference = next(iter(results.values()))
    rows = [f"\n{dataset}: test −ELBO and KL (nats/image), mean ± sd over seeds {sorted(reference)}\n",
            "| configuration | chosen precision | test −ELBO | test KL | collapsed seeds | median fit s "
            "| −ELBO minus the first row, paired |", "|---|---|---|---|---|---|---|"]
    for configuration, runs in results.items():
        seeds = sorted(runs)
        neg_elbo = [runs[s]["test"]["neg_elbo"] for s in seeds]
        kl = [runs[s]["test"]["kl"] for s in seeds]
        collapsed = [s for s in seeds if runs[s]["test"]["kl"] < collapse_kl]
        paired = [runs[s]["test"]["neg_elbo"] - reference[s]["test"]["neg_elbo"] for s in seeds if s in reference]
        chosen = sorted({runs[s].get("precision", {}).get("precision", "32-true") for s in seeds})
        rows.append(f"| {' '.join(configuration)} | {', '.join(chosen)} | {mean_sd(neg_elbo)} | {mean_sd(kl)} | "
                    f"{collapsed or 'none'} | {statistics.median(runs[s]['fit_seconds'] for s in seeds):.0f} | "
                    f"{mean_sd(paired)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA"))
    parser.add_argument("--data", nargs="+", default=["mnist", "fashion"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--precisions", nargs="+", default=[AUTO, "32-true"],
                        help="trainer.precision values; one that auto resolves to on this machine is run once")
    parser.add_argument("--vary", nargs="*", default=[], help="key=v1,v2: also compare these settings")
    parser.add_argument("--overrides", nargs="*", default=[], help="CLI overrides for every run (a smaller budget)")
    parser.add_argument("--collapse-kl", type=float, default=COLLAPSE_KL)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/outputs/default_quality"))
    args = parser.parse_args()

    auto = choose_precision(AUTO, "auto")
    precisions = [p for p in args.precisions if p == AUTO or p != auto.precision]
    print(f"trainer.precision=auto chooses {auto.precision} here ({auto.reason})")
    lines = []
    for dataset in args.data:
        results = {configuration: {seed: train(run_directory(args.out, dataset, configuration, seed), dataset,
                                               configuration, seed, args.overrides, args.data_root)
                                   for seed in args.seeds}
                   for configuration in configurations(precisions, args.vary)}
        lines += report(dataset, results, args.collapse_kl)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
