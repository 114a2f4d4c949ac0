"""What a run directory says about its run: finished (metrics.json), failed (failure.json), or stopped part-way with
a checkpoint to continue from — so a rerun finishes the work instead of repeating or losing it."""

import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from vae_lightning.atomic_files import write_json_atomic
from vae_lightning.errors import CheckpointError, VAELightningError
from vae_lightning.runs.checkpoint_files import load_checkpoint, written_mid_epoch

METRICS_FILE = "metrics.json"
FAILURE_FILE = "failure.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = Path(CHECKPOINT_DIR) / "last.ckpt"
CONFIG_DIR = ".hydra"
LOG_FILE = "train.log"
EVENT_FILES = "events.out.tfevents.*"
# Where runs written before the event files moved into the run directory itself kept them.
OLD_TENSORBOARD_DIR = "tensorboard"
# What a run writes (names or patterns); `redo=true` moves these aside together so an old result never mixes with the
# new one. hparams.yaml is written by Lightning's TensorBoard logger beside the event files.
RUN_OUTPUTS = (METRICS_FILE, FAILURE_FILE, CHECKPOINT_DIR, EVENT_FILES, "hparams.yaml", OLD_TENSORBOARD_DIR,
               "analysis", CONFIG_DIR)


def tensorboard_dir(run_dir: Path) -> Path:
    """Where a run's TensorBoard events go: the run directory itself, so `tensorboard --logdir outputs` names the run
    after it (`2026-11-30/07-00-00_mnist`, `model.beta=4,seed=1`). A run from an older version keeps its
    `tensorboard/` folder, so what is added to it later stays in the same TensorBoard run."""
    old = run_dir / OLD_TENSORBOARD_DIR
    return old if old.is_dir() else run_dir


def read_json_record(path: Path) -> dict[str, Any] | None:
    """A JSON object written by a run, or None when the file is absent, unreadable, not JSON or not an object: a
    damaged record must never stop the command that looks at it."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def finished_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The metrics of a run that already finished in `run_dir`, or None (also when metrics.json is damaged: then
    the run is treated as unfinished, continued from its checkpoint and its metrics.json written again)."""
    path = run_dir / METRICS_FILE
    metrics = read_json_record(path)
    if metrics is None and path.exists():
        print(f"{path} is damaged (not a JSON object); treating the run as unfinished.")
    return metrics


def resumable_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint an interrupted run in `run_dir` continues from: `last.ckpt`, or the newest best checkpoint
    when `last.ckpt` is damaged (said on the console); None when there is none to continue from. A checkpoint
    written in the middle of an epoch (a best one after `trainer.val_check_interval` < 1, or a `last.ckpt` of an
    earlier version) is passed over, saying so: a run continues exactly only from an epoch's end."""
    last = run_dir / LAST_CHECKPOINT
    candidates = [last, *sorted((run_dir / CHECKPOINT_DIR).glob("best-*.ckpt"), reverse=True)]
    for path in (candidate for candidate in candidates if candidate.is_file()):
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as error:
            print(f"Cannot continue from {path}: {error}")
            continue
        if written_mid_epoch(checkpoint):
            print(f"Cannot continue exactly from {path}: it was written in the middle of epoch "
                  f"{checkpoint.get('epoch')}, and the batches of an epoch cannot be resumed part-way.")
            continue
        if path != last:
            print(f"Continuing from {path} instead (the best epoch's checkpoint, so the epochs after it are trained "
                  "again).")
        return path
    return None


def record_failure(run_dir: Path, error: BaseException) -> bool:
    """Leave failure.json in the run directory, so a sweep's report can list the point and why it failed; False
    when it could not be written (said on the console)."""
    payload = {"error": str(error), "error_type": type(error).__name__,
               "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if not isinstance(error, VAELightningError):  # a bug, not a user error: keep where it happened
        payload["traceback"] = "".join(traceback.format_exception(error))
    try:
        write_json_atomic(run_dir / FAILURE_FILE, payload)
    except OSError as write_error:  # e.g. the disk that stopped the run is still full: the console still says why
        print(f"Could not record the failure in {run_dir / FAILURE_FILE} ({write_error.strerror}).", file=sys.stderr)
        return False
    return True


def clear_failure(run_dir: Path) -> None:
    (run_dir / FAILURE_FILE).unlink(missing_ok=True)


def set_aside_outputs(run_dir: Path) -> Path | None:
    """Move an earlier attempt's outputs, its config included, into `previous-<time>/` inside the run directory;
    never delete them. `train.log` is copied there and emptied, since this process already logs into it."""
    present = [path for pattern in RUN_OUTPUTS for path in sorted(run_dir.glob(pattern))]
    if not present:
        return None
    destination = run_dir / f"previous-{time.strftime('%Y%m%d-%H%M%S')}"
    destination.mkdir()
    for path in present:
        path.rename(destination / path.name)
    log = run_dir / LOG_FILE
    if log.is_file():
        shutil.copy2(log, destination / LOG_FILE)
        os.truncate(log, 0)
    return destination
