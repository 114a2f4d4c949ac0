"""One run directory, one training: the lock's takeover from a killed holder and its exclusiveness, and redo setting
the earlier outputs aside (README "Reliability")."""

import multiprocessing
import os
import signal

import pytest

from vae_lightning.errors import RunInUseError
from vae_lightning.runs.directory import set_aside_outputs
from vae_lightning.runs.lock import run_lock


def _lock_and_die(run_dir) -> None:
    with run_lock(run_dir):
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    killed = multiprocessing.get_context("spawn").Process(target=_lock_and_die, args=(tmp_path,))
    killed.start()
    killed.join()
    assert killed.exitcode == -signal.SIGKILL and "pid" in (tmp_path / ".lock").read_text()
    # Taken over; and while held it is exclusive, even within one process.
    with run_lock(tmp_path), pytest.raises(RunInUseError), run_lock(tmp_path):
        pass


def test_redo_sets_aside_the_event_files_with_the_other_outputs(tmp_path):
    outputs = ["events.out.tfevents.1796023750.vm.9159.0", "hparams.yaml", "metrics.json", "tensorboard"]
    for name in [*outputs, "train.log"]:
        (tmp_path / name).mkdir() if name == "tensorboard" else (tmp_path / name).write_text("earlier")
    previous = set_aside_outputs(tmp_path)
    assert sorted(path.name for path in previous.iterdir()) == sorted([*outputs, "train.log"])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([previous.name, "train.log"])
