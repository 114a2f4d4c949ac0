"""Kills during writes: a checkpoint or metrics.json is either the old complete file or the new one, never a
truncated file that later loads (README "Reliability")."""

import itertools
import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from vae_lightning.atomic_files import write_json_atomic
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO  # what the Trainer saves checkpoints with

KILLS_PER_KIND = 20


def _write_forever(path: Path, kind: str, ready) -> None:
    """Rewrite `path` the way training does, until killed."""
    weights = torch.randn(2_000_000)  # 8 MB, so a write lasts long enough to be hit
    ready.set()
    for n in itertools.count():
        if kind == "checkpoint":
            AtomicCheckpointIO().save_checkpoint({"n": n, "state_dict": {"vae.w": weights}}, path)
        else:
            write_json_atomic(path, {"n": n, "values": list(range(20_000))})


def _load(path: Path, kind: str) -> int:
    if kind == "checkpoint":
        return torch.load(path, weights_only=True)["n"]
    return json.loads(path.read_text())["n"]


@pytest.mark.parametrize("kind", ["checkpoint", "metrics"])
def test_a_kill_during_a_write_never_leaves_a_truncated_file(kind, tmp_path):
    path = tmp_path / ("last.ckpt" if kind == "checkpoint" else "metrics.json")
    context = multiprocessing.get_context("fork")  # the writer starts in milliseconds, so many kills stay cheap
    rng = random.Random(0)
    completed = []
    for _ in range(KILLS_PER_KIND):
        ready = context.Event()
        writer = context.Process(target=_write_forever, args=(path, kind, ready))
        writer.start()
        assert ready.wait(timeout=30)
        time.sleep(rng.uniform(0.01, 0.3))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        if path.exists():
            completed.append(_load(path, kind))  # raises on a truncated or corrupt file
    assert len(completed) >= KILLS_PER_KIND // 2, "writes rarely completed between kills; the test exercised little"
