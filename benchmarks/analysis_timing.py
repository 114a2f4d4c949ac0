"""End-to-end time of `python -m vae_lightning.analyze` on a default run of each dataset, phase by phase, and the
linear probe's solvers on the same run's codes.

For each dataset it takes the run given with `--run <dataset>=<run dir>`, or trains one (the default config, or
with `--overrides`) into `--out/<dataset>` (kept, and reused on the next call). It then runs the analysis as a user
does, in a fresh process, `--repeats` times with the datasets interleaved, and prints the whole command's median
wall time (imports included) and each phase's median wall and CPU seconds from the analysis's timings.json. Then the
probe comparison: test accuracy on μ and on z ~ q(z|x), and CPU seconds, of scikit-learn's L-BFGS (the probe
before issue 25), Newton–Cholesky from zero, and Newton–Cholesky warm-started from a 10,000-code fit (the probe
now), fitted in this process on the analysis's own training and test codes. The analysis uses every core unless
`--threads` says otherwise; CPU seconds are the figure to compare on a shared machine.

    python benchmarks/analysis_timing.py --data-root ../shared/datasets
    python benchmarks/analysis_timing.py --run mnist=outputs/<run> --run fashion=outputs/<run> --repeats 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from vae_lightning.analysis.metrics import encode_splits, sample_codes
from vae_lightning.analysis.representation import PROBE_MAX_ITER, linear_probe_accuracy
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
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: every core)")
    parser.add_argument("--repeats", type=int, default=3, help="analyses of each run; medians are printed")
    args = parser.parse_args()
    given = dict(entry.split("=", 1) for entry in args.run)
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = {dataset: Path(given[dataset]) if dataset in given else train(dataset, args) for dataset in args.datasets}
    walls: dict[str, list[float]] = {dataset: [] for dataset in runs}
    phases: dict[str, list[dict[str, dict[str, float]]]] = {dataset: [] for dataset in runs}
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine touches every dataset alike
        for dataset, run_dir in runs.items():
            walls[dataset].append(analyse(run_dir, args))
            phases[dataset].append(json.loads((run_dir / "analysis" / "timings.json").read_text())["seconds"])
    for dataset, run_dir in runs.items():
        metrics = json.loads((run_dir / "analysis" / "metrics.json").read_text())
        print(f"\n{dataset}: analyze {run_dir} ({args.threads or torch.get_num_threads()} thread(s)): median "
              f"{statistics.median(walls[dataset]):.1f} s wall, imports included (each: "
              f"{', '.join(f'{wall:.1f}' for wall in walls[dataset])})")
        print(phase_table(median_phases(phases[dataset]), metrics.get("factor_metrics")))
        print(probe_comparison(run_dir, args))


def median_phases(repeats: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each phase's median wall and CPU seconds over the repeats."""
    return {phase: {kind: statistics.median(seconds[phase][kind] for seconds in repeats) for kind in ("wall", "cpu")}
            for phase in repeats[0]}


def train(dataset: str, args: argparse.Namespace) -> Path:
    """A run of the default config (with `--overrides`) on `dataset` in `--out/<dataset>`; a finished one is kept."""
    run_dir = Path(args.out) / dataset
    if not (run_dir / "metrics.json").exists():
        run(["vae_lightning.train", f"data={dataset}", f"hydra.run.dir={run_dir}", *threads(args),
             *([f"data.root={args.data_root}"] if args.data_root else []), *args.overrides])
    return run_dir


def analyse(run_dir: Path, args: argparse.Namespace) -> float:
    """Wall seconds of the whole `analyze` command, as a user runs it."""
    started = time.perf_counter()
    run(["vae_lightning.analyze", f"run={run_dir}", *threads(args),
         *([f"data.root={args.data_root}"] if args.data_root else []), *args.analysis])
    return time.perf_counter() - started


def threads(args: argparse.Namespace) -> list[str]:
    return [f"threads={args.threads}"] if args.threads else []


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
    """The solvers on the analysis's codes (its seed 0 and its training split): accuracy and CPU seconds."""
    target, model, datamodule = open_run(run_dir, "cpu", "best", root=args.data_root, download=False)
    encoded = encode_splits(model, datamodule, 60000, 0)
    train, test = encoded["train"], encoded["test"]
    codes = {"μ": (train.mu, test.mu), "z ~ q(z|x)": (sample_codes(train, 0), sample_codes(test, 1))}
    solvers = {"L-BFGS (before)": former_probe, "Newton–Cholesky from zero": newton_from_zero,
               "Newton–Cholesky, warm start (now)": lambda *split: linear_probe_accuracy(*split, seed=0)}
    lines = ["| probe on | solver | test accuracy | CPU s |", "|---|---|---|---|"]
    for name, (train_codes, test_codes) in codes.items():
        for solver, probe in solvers.items():
            accuracy, seconds = cpu_timed(lambda a=train_codes, b=test_codes, fit=probe: fit(
                a, train.labels, b, test.labels))
            lines.append(f"| {name} | {solver} | {accuracy:.4f} | {seconds:.2f} |")
    return "\n".join(lines)


def former_probe(train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor,
                 test_labels: torch.Tensor) -> float:
    """The probe as it was: scikit-learn's LogisticRegression (L-BFGS, C = 1, max_iter 1000) on standardised codes,
    with BLAS and OpenMP on their own default thread count (every core)."""
    return fitted_score(LogisticRegression(max_iter=FORMER_PROBE_MAX_ITER, random_state=0), train_codes,
                        train_labels, test_codes, test_labels)


def newton_from_zero(train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor,
                     test_labels: torch.Tensor) -> float:
    """Newton–Cholesky on all the training codes from zero weights, on one thread."""
    with threadpool_limits(limits=1):
        return fitted_score(LogisticRegression(solver="newton-cholesky", max_iter=PROBE_MAX_ITER, random_state=0),
                            train_codes, train_labels, test_codes, test_labels)


def fitted_score(classifier: LogisticRegression, train_codes: torch.Tensor, train_labels: torch.Tensor,
                 test_codes: torch.Tensor, test_labels: torch.Tensor) -> float:
    probe = make_pipeline(StandardScaler(), classifier)
    probe.fit(train_codes.numpy(), train_labels.numpy())
    return float(probe.score(test_codes.numpy(), test_labels.numpy()))


def cpu_timed(function: Callable[[], float]) -> tuple[float, float]:
    """The function's result and the CPU seconds this process spent on it, every thread included."""
    started = time.process_time()
    result = function()
    return result, time.process_time() - started


if __name__ == "__main__":
    main()
