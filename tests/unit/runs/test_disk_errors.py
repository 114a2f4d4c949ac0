"""A write the filesystem refuses, anywhere, is one paragraph naming the folder and the space needed, with nothing
lost (issue 26, items 7 and 10): checkpoints, third-party writers (TensorBoard's thread, image encoders), the
console's copy in train.log, and a read-only output folder refused before any work."""

import errno
import os
import sys
import threading
from collections import namedtuple
from pathlib import Path

import pytest
import torch

from tests.fault_injection import FullDiskCheckpointIO
from vae_lightning.cli.console_copy import console_copied_to
from vae_lightning.errors import StorageError
from vae_lightning.runs import disk_errors
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO
from vae_lightning.runs.disk_errors import refuse_unwritable, storage_errors

CHECKPOINT = {"epoch": 3, "state_dict": {"model.w": torch.arange(1000.0)}}
FULL = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def ten_bytes_free(monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(disk_errors.shutil, "disk_usage", lambda folder: usage(100, 90, 10))


def test_a_full_disk_names_the_folder_the_space_needed_and_keeps_the_old_checkpoint(tmp_path, ten_bytes_free):
    target = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint(CHECKPOINT, target)
    with pytest.raises(StorageError) as refused:
        FullDiskCheckpointIO().save_checkpoint({**CHECKPOINT, "epoch": 4}, target)
    size = target.stat().st_size  # the new checkpoint has the old one's size
    message = str(refused.value)
    assert f"Could not write {target} (No space left on device): it needs {size / 1e3:.1f} kB" in message
    assert f"{target.parent} has 10 bytes free" in message and f"Free at least {(size - 10) / 1e3:.1f} kB" in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no chained traceback
    assert AtomicCheckpointIO().load_checkpoint(target)["epoch"] == 3
    assert [path.name for path in target.parent.iterdir()] == ["last.ckpt"]


def test_a_full_disk_found_only_when_syncing_is_the_same_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("vae_lightning.atomic_files.os.fsync", lambda fd: (_ for _ in ()).throw(FULL))
    with pytest.raises(StorageError, match="No space left on device"):
        AtomicCheckpointIO().save_checkpoint(CHECKPOINT, tmp_path / "last.ckpt")
    assert list(tmp_path.iterdir()) == []


def test_a_third_party_write_on_a_full_disk_becomes_one_paragraph_and_its_thread_stays_quiet(tmp_path, monkeypatch):
    reported = []
    monkeypatch.setattr(threading, "excepthook", reported.append)
    with pytest.raises(StorageError) as refused, storage_errors(tmp_path, "Kept.", "run it again."):
        writer = threading.Thread(target=lambda: (_ for _ in ()).throw(FULL))  # TensorBoard's event writer
        writer.start()
        writer.join()
        raise OSError(errno.ENOSPC, "No space left on device")  # the writer's error, raised again in this thread
    assert reported == []
    assert str(refused.value).startswith(f"Could not write into {tmp_path} (No space left on device)")
    assert "Kept. Free space in" in str(refused.value) and str(refused.value).endswith("then run it again.")
    assert threading.excepthook == reported.append  # restored


def test_other_os_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(FileNotFoundError), storage_errors(tmp_path, "Kept.", "run it again."):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "x")


def test_a_read_only_output_folder_is_refused_before_any_work_naming_the_fix(tmp_path, monkeypatch):
    def read_only(dir):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(disk_errors.tempfile, "TemporaryFile", read_only)
    with pytest.raises(StorageError) as refused:
        refuse_unwritable(tmp_path / "run" / "analysis", "The analysis", "Analyse a copy.")
    assert str(refused.value) == (f"The analysis writes into {tmp_path / 'run' / 'analysis'}, but {tmp_path} cannot "
                                  "be written (Read-only file system); nothing was written. Analyse a copy.")


def test_a_full_train_log_stops_the_copy_with_one_line_and_the_console_goes_on(capsys):
    with console_copied_to(Path("/dev/full")):  # every write there fails with ENOSPC
        print("epoch 1 done")
        print("epoch 2 done")
    out, err = capsys.readouterr()
    assert out.splitlines() == ["epoch 1 done", "", "(The console is no longer copied into /dev/full: No space left "
                                "on device.)", "epoch 2 done"]
    assert sys.stdout is not None and "Traceback" not in err
