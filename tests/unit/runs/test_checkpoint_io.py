"""How checkpoints reach the disk: atomically beside their target whatever TMPDIR is, a full disk as one clear error
with the old file intact, leftovers of a killed write removed, and never a non-finite score as "best"."""

import json
import tempfile

import pytest
import torch

from tests.fault_injection import FullDiskCheckpointIO
from vae_lightning import atomic_files as atomic
from vae_lightning.atomic_files import remove_stale_temporaries, write_json_atomic
from vae_lightning.callbacks import RunCheckpoint
from vae_lightning.errors import StorageError
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO

CHECKPOINT = {"epoch": 3, "state_dict": {"vae.w": torch.arange(10.0)}}


def test_the_temporary_file_is_beside_the_target_even_with_tmpdir_elsewhere(tmp_path, monkeypatch):
    other_filesystem = tmp_path / "tmpfs"
    other_filesystem.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(other_filesystem))
    renames, synced = [], []
    real_replace = atomic.os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (renames.append((src, dst)), real_replace(src, dst)))
    monkeypatch.setattr(atomic, "sync_directory", synced.append)
    target = tmp_path / "run" / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint(CHECKPOINT, target)
    ((source, destination),) = renames
    assert str(source).startswith(str(target.parent)) and destination == target
    assert synced == [target.parent]  # the rename itself is made durable
    assert list(other_filesystem.iterdir()) == []
    assert torch.equal(AtomicCheckpointIO().load_checkpoint(target)["state_dict"]["vae.w"], torch.arange(10.0))


def test_a_full_disk_is_one_clear_error_and_keeps_the_old_checkpoint(tmp_path):
    target = tmp_path / "best-epoch001.ckpt"
    AtomicCheckpointIO().save_checkpoint(CHECKPOINT, target)
    with pytest.raises(StorageError) as refused:
        FullDiskCheckpointIO().save_checkpoint({**CHECKPOINT, "epoch": 4}, target)
    assert "No space left on device" in str(refused.value) and str(target) in str(refused.value)
    assert AtomicCheckpointIO().load_checkpoint(target)["epoch"] == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best-epoch001.ckpt"]


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    for name in (".last.ckpt.abc123.tmp", ".metrics.json.x.tmp", "last.ckpt", "notes.tmp"):
        (tmp_path / name).write_text("x")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(path.name for path in removed) == [".last.ckpt.abc123.tmp", ".metrics.json.x.tmp"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["last.ckpt", "notes.tmp"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_strict_json_refuses_a_non_finite_value_and_keeps_the_old_file(tmp_path, value):
    path = tmp_path / "metrics.json"
    write_json_atomic(path, {"test": {"loss": 1.0}}, allow_nan=False)
    with pytest.raises(ValueError):
        write_json_atomic(path, {"test": {"loss": value}}, allow_nan=False)
    assert json.loads(path.read_text()) == {"test": {"loss": 1.0}}


@pytest.mark.parametrize("score", [float("nan"), float("inf")])
def test_a_non_finite_validation_score_never_becomes_the_best_checkpoint(tmp_path, score):
    checkpoint = RunCheckpoint(dirpath=tmp_path, monitor="val/loss", save_top_k=1)
    assert not checkpoint.check_monitor_top_k(None, torch.tensor(score))
    assert checkpoint.check_monitor_top_k(None, torch.tensor(123.0))  # the first finite score is kept
