"""Soak test of resuming: kill a 3-epoch training with analysis at random moments, resume each, and count how many
end bit-identical to the uninterrupted run; beside it, the share of the run's wall time spent writing checkpoints.

Each of `--points` attempts starts the training CLI in its own run directory, sends SIGKILL or SIGTERM (chosen at
random) after a random delay drawn over the uninterrupted run's wall time, then reruns the command with
`resume=<run dir>` until `metrics.json` exists (a kill before the run directory was made starts it afresh). A point
counts as bit-identical when the test results, the per-dimension KL, the counters, every number of the analysis
and every tensor of the final `last.ckpt` equal the uninterrupted run's exactly. A kill that lands after the run
finished interrupted nothing and is reported apart.

The checkpointing overhead is the time the uninterrupted run spent inside the Trainer's checkpoint writer
(`CheckpointTimer` wraps it), over the run's fit time, both measured in the same process.

    python benchmarks/soak.py --points 50 --data-root ../shared/datasets
    python benchmarks/soak.py --points 10          # tiny synthetic images, written to a temporary folder
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# A run small enough to repeat dozens of times on two cores, with every stage the CLI has: fit, test, analysis.
TINY_RUN = [
    "data=fashion", "data.download=false", "data.batch_size=16", "data.eval_batch_size=32", "model.latent_dim=4",
    "model.channels=[4,8]", "model.hidden_dim=16", "trainer.max_epochs=3", "callbacks.latent_panels.num_images=4",
    "callbacks.latent_panels.num_samples=4", "callbacks.latent_panels.traversal_dims=3",
    "callbacks.latent_panels.traversal_steps=5", "trainer.enable_progress_bar=false", "threads=1", "analyze=true",
    'analysis=["iwae.num_samples=5","iwae.convergence.num_samples=[5]"]',
]
# Numbers of the analysis that depend on where or when it ran, not on the model.
NOT_RESULTS = ("checkpoint", "seconds", "time")
SIGNALS = (signal.SIGKILL, signal.SIGTERM)


class CheckpointTimer(L.Callback):
    """Adds up the seconds the Trainer's checkpoint writer spends, and writes the sum to `path` when fitting ends."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.seconds = 0.0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        checkpoint_io = trainer.strategy.checkpoint_io
        save = checkpoint_io.save_checkpoint

        def timed(*args: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            try:
                save(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        checkpoint_io.save_checkpoint = timed

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.path.write_text(json.dumps({"checkpoint_seconds": self.seconds}))


def train_command(data_root: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vae_lightning.train", *TINY_RUN, f"data.root={data_root}",
            f"hydra.run.dir={run_dir}", *extra]


def run_to_the_end(data_root: Path, run_dir: Path, env: dict[str, str], limit: int = 5) -> int:
    """Resume the run in `run_dir` until it finished (or start it again when the kill came before its folder was
    made); returns how many commands that took. Fails loudly when a resume fails."""
    for attempt in range(1, limit + 1):
        if (run_dir / "metrics.json").exists():
            return attempt - 1
        resume = [f"resume={run_dir}"] if (run_dir / ".hydra").is_dir() else []
        result = subprocess.run(train_command(data_root, run_dir, *resume), env=env, capture_output=True, text=True,
                                timeout=1200)
        if result.returncode != 0:
            raise RuntimeError(f"resuming {run_dir} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    raise RuntimeError(f"{run_dir} did not finish after {limit} commands")


def results(run_dir: Path) -> dict[str, Any]:
    """What must not change with interruptions: train's numbers, the analysis's numbers, the final weights."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    analysis = json.loads((run_dir / "analysis" / "metrics.json").read_text())
    weights = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    kept = {key: metrics[key] for key in metrics if key.startswith("test") or key in ("epochs_trained", "global_step")}
    return {"metrics": kept, "analysis": _numbers_only(analysis), "weights": weights}


def _numbers_only(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _numbers_only(item) for key, item in value.items()
                if not any(word in key for word in NOT_RESULTS)}
    if isinstance(value, list):
        return [_numbers_only(item) for item in value]
    return value if isinstance(value, int | float) else None


def identical(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Exact equality, NaN equal to NaN (json reads both as the same float)."""
    same_numbers = json.dumps([a["metrics"], a["analysis"]]) == json.dumps([b["metrics"], b["analysis"]])
    same_weights = a["weights"].keys() == b["weights"].keys() and all(
        torch.equal(a["weights"][key], b["weights"][key]) for key in a["weights"])
    return same_numbers and same_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50, help="random kill points, each resumed (default 50)")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder holding FashionMNIST/raw; default: tiny synthetic images in a temporary folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments and signals")
    parser.add_argument("--workdir", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vae_soak_"))
    data_root = args.data_root or write_tiny_data(workdir / "data")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "XDG_CACHE_HOME": str(workdir / "cache")}
    env.pop("VAE_LIGHTNING_DATA", None)

    baseline_dir, timing = workdir / "uninterrupted", workdir / "checkpoint_seconds.json"
    started = time.perf_counter()
    finished = subprocess.run(train_command(data_root, baseline_dir, f"+callbacks.timer.path={timing}",
                                            "+callbacks.timer._target_=benchmarks.soak.CheckpointTimer"),
                              env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"the uninterrupted run failed:\n{finished.stderr[-3000:]}")
    wall = time.perf_counter() - started
    baseline = results(baseline_dir)
    fit_seconds = json.loads((baseline_dir / "metrics.json").read_text())["fit_seconds"]
    checkpoint_seconds = json.loads(timing.read_text())["checkpoint_seconds"]

    rng = random.Random(args.seed)
    same, interrupted, resumes, kinds = 0, 0, 0, {"SIGKILL": 0, "SIGTERM": 0}
    for point in range(args.points):
        run_dir, delay, sent = workdir / f"point{point:03d}", rng.uniform(0.0, wall), rng.choice(SIGNALS)
        process = subprocess.Popen(train_command(data_root, run_dir), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=delay)
            hit = False  # it finished before the signal was due
        except subprocess.TimeoutExpired:
            process.send_signal(sent)
            process.wait()
            hit = True
        interrupted += hit
        kinds[sent.name] += hit
        resumes += run_to_the_end(data_root, run_dir, env)
        matches = identical(results(run_dir), baseline)
        same += matches and hit
        print(f"point {point + 1}/{args.points}: {sent.name} after {delay:.1f} s"
              f"{'' if hit else ' (the run had finished)'}; {'identical' if matches else 'DIFFERENT'}", flush=True)

    print(f"\nUninterrupted run: {wall:.1f} s wall, fit {fit_seconds:.1f} s, of which writing checkpoints "
          f"{checkpoint_seconds:.2f} s: checkpointing overhead {100 * checkpoint_seconds / fit_seconds:.1f}% of fit")
    print(f"Kill points: {args.points} ({interrupted} landed while the run was going: {kinds['SIGKILL']} SIGKILL, "
          f"{kinds['SIGTERM']} SIGTERM), {resumes} resume command(s)")
    print(f"Bit-identical to the uninterrupted run after resuming: {same} of {interrupted} interrupted runs")


def write_tiny_data(root: Path) -> Path:
    from tests.data_helpers import write_idx_dataset

    write_idx_dataset(root, folder="FashionMNIST", n_train=96, n_test=32)
    return root


if __name__ == "__main__":
    main()
