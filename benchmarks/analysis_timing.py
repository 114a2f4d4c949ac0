"""End-to-end time of `python -m vae_lightning.analyze` on a default run of each dataset, phase by phase, and the
linear probe's solver against the one it replaced (scikit-learn's L-BFGS) on the same run's codes.

For each dataset it takes the run given with `--run <dataset>=<run dir>`, or trains one (the default config, or
with `--overrides`) into `--out/<dataset>` (kept, and reused on the next call). It then runs the analysis as a user
does, in a fresh process, and prints the whole command's wall time (imports included), each phase's wall and CPU
seconds from the analysis's timings.json, and the probe comparison: both solvers' test accuracy on μ and on
z ~ q(z|x), and their CPU seconds, fitted in this process on the analysis's own training and test codes. CPU seconds
are the figure to compare on a shared machine: other jobs inflate wall time, far less the CPU time of a process
that runs one thread (`--threads`, default 1).

    python benchmarks/analysis_timing.py --data-root ../shared/datasets
    python benchmarks/analysis_timing.py --run mnist=outputs/<run> --run fashion=outputs/<run> --threads 2
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vae_lightning.analysis.metrics import encode_splits, sample_codes
from vae_lightning.analysis.representation import linear_probe_accuracy
from vae_lightning.runs.loading import open_run

# The linear probe as it was fitted before (analysis/representation.py): the baseline of the comparison.
FORMER_PROBE_MAX_ITER = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("VAE_LIGHTNING_DATA"))
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion"])
    parser.add_argument("--run", action="append", default=[], metavar="DATASET=RUN_DIR",
                        help="an already trained run of that dataset, instead of training one")
    parser.add_argument("--out", default="outputs/analysis_timing", help="where runs are trained when not given")
    parser.add_argument("--overrides", nargs="*", default=[], help="training overrides (default: the default run)")
    parser.add_argument("--analysis", nargs="*", default=[], help="analyze.yaml overrides")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    given = dict(entry.split("=", 1) for entry in args.run)
    torch.set_num_threads(args.threads)
    for dataset in args.datasets:
        run_dir = Path(given[dataset]) if dataset in given else train(dataset, args)
        wall = analyse(run_dir, args)
        metrics = json.loads((run_dir / "analysis" / "metrics.json").read_text())
        seconds = json.loads((run_dir / "analysis" / "timings.json").read_text())["seconds"]
        print(f"\n{dataset}: analyze {run_dir} ({args.threads} thread(s)): {wall:.1f} s wall, imports included")
        print(phase_table(seconds, metrics.get("factor_metrics")))
        print(probe_comparison(run_dir, args))


def train(dataset: str, args: argparse.Namespace) -> Path:
    """A run of the default config (with `--overrides`) on `dataset` in `--out/<dataset>`; a finished one is kept."""
    run_dir = Path(args.out) / dataset
    if not (run_dir / "metrics.json").exists():
        run(["vae_lightning.train", f"data={dataset}", f"hydra.run.dir={run_dir}", f"threads={args.threads}",
             *([f"data.root={args.data_root}"] if args.data_root else []), *args.overrides])
    return run_dir


def analyse(run_dir: Path, args: argparse.Namespace) -> float:
    """Wall seconds of the whole `analyze` command, as a user runs it."""
    started = time.perf_counter()
    run(["vae_lightning.analyze", f"run={run_dir}", f"threads={args.threads}",
         *([f"data.root={args.data_root}"] if args.data_root else []), *args.analysis])
    return time.perf_counter() - started


def run(module_and_arguments: list[str]) -> None:
    print("+ python -m " + " ".join(module_and_arguments), flush=True)
    subprocess.run([sys.executable, "-m", *module_and_arguments], check=True, stdout=subprocess.DEVNULL)


def phase_table(seconds: dict[str, dict[str, float]], factor_metrics: dict | None) -> str:
    """The analysis's phases with their wall and CPU seconds, and the total."""
    rows = [(phase, times["wall"], times["cpu"]) for phase, times in seconds.items()]
    if factor_metrics is not None:
        rows.append(("disentanglement (within the above)", factor_metrics["seconds"], float("nan")))
    lines = ["| phase | wall s | CPU s |", "|---|---|---|"]
    lines += [f"| {phase} | {wall:.1f} | {cpu:.1f} |" for phase, wall, cpu in rows]
    lines.append(f"| total of the phases | {sum(t['wall'] for t in seconds.values()):.1f} | "
                 f"{sum(t['cpu'] for t in seconds.values()):.1f} |")
    return "\n".join(lines)


def probe_comparison(run_dir: Path, args: argparse.Namespace) -> str:
    """Both solvers on the analysis's codes (its seed 0 and its training subset): accuracy and CPU seconds."""
    target, model, datamodule = open_run(run_dir, "cpu", "best", root=args.data_root, download=False)
    encoded = encode_splits(model, datamodule, 60000, 0)
    train, test = encoded["train"], encoded["test"]
    codes = {"μ": (train.mu, test.mu), "z ~ q(z|x)": (sample_codes(train, 0), sample_codes(test, 1))}
    lines = ["| probe on | former accuracy | accuracy | former CPU s | CPU s | former / now |",
             "|---|---|---|---|---|---|"]
    for name, (train_codes, test_codes) in codes.items():
        former, former_seconds = cpu_timed(lambda a=train_codes, b=test_codes: former_probe(
            a, train.labels, b, test.labels))
        now, seconds = cpu_timed(lambda a=train_codes, b=test_codes: linear_probe_accuracy(
            a, train.labels, b, test.labels, seed=0))
        lines.append(f"| {name} | {former:.4f} | {now:.4f} | {former_seconds:.2f} | {seconds:.2f} | "
                     f"{former_seconds / max(seconds, 1e-9):.1f}× |")
    return "\n".join(lines)


def former_probe(train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor,
                 test_labels: torch.Tensor) -> float:
    """The probe as it was: scikit-learn's LogisticRegression (L-BFGS, C = 1, max_iter 1000) on standardised codes,
    with BLAS and OpenMP on their own default thread count (every core)."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=FORMER_PROBE_MAX_ITER, random_state=0))
    probe.fit(train_codes.numpy(), train_labels.numpy())
    return float(probe.score(test_codes.numpy(), test_labels.numpy()))


def cpu_timed(function: Callable[[], float]) -> tuple[float, float]:
    """The function's result and the CPU seconds this process spent on it, every thread included."""
    started = time.process_time()
    result = function()
    return result, time.process_time() - started


if __name__ == "__main__":
    main()
