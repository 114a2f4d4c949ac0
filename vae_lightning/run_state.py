"""What a run directory says about its run: finished (metrics.json), failed (failure.json), or stopped part-way with
a checkpoint to continue from — so a rerun finishes the work instead of repeating or losing it."""

import json
import time
import traceback
from pathlib import Path
from typing import Any

from vae_lightning.atomic import write_json_atomic
from vae_lightning.errors import VAELightningError

METRICS_FILE = "metrics.json"
FAILURE_FILE = "failure.json"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
# What a run writes; `redo=true` moves these aside together so an old result never mixes with the new one.
RUN_OUTPUTS = (METRICS_FILE, FAILURE_FILE, "checkpoints", "tensorboard", "analysis")


def finished_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The metrics of a run that already finished in `run_dir`, or None."""
    path = run_dir / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def resumable_checkpoint(run_dir: Path) -> Path | None:
    """The end-of-epoch checkpoint an interrupted run in `run_dir` continues from, or None."""
    path = run_dir / LAST_CHECKPOINT
    return path if path.is_file() else None


def record_failure(run_dir: Path, error: BaseException) -> None:
    """Leave failure.json in the run directory, so a sweep's report can list the point and why it failed."""
    payload = {"error": str(error), "error_type": type(error).__name__,
               "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if not isinstance(error, VAELightningError):  # a bug, not a user error: keep where it happened
        payload["traceback"] = "".join(traceback.format_exception(error))
    write_json_atomic(run_dir / FAILURE_FILE, payload)


def clear_failure(run_dir: Path) -> None:
    (run_dir / FAILURE_FILE).unlink(missing_ok=True)


def set_aside_outputs(run_dir: Path) -> Path | None:
    """Move an earlier attempt's outputs into `previous-<time>/` inside the run directory; never delete them."""
    present = [run_dir / name for name in RUN_OUTPUTS if (run_dir / name).exists()]
    if not present:
        return None
    destination = run_dir / f"previous-{time.strftime('%Y%m%d-%H%M%S')}"
    destination.mkdir()
    for path in present:
        path.rename(destination / path.name)
    return destination
