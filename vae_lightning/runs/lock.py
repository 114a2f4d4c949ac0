"""One training per run directory: a second process that would write into the same directory is refused.

The lock is an OS file lock (`flock`) on `<run dir>/.lock`, so the kernel releases it when its holder dies however
it dies (SIGKILL, a node crash on a local disk): a killed run never leaves a lock that blocks its own resume. The
file also says who holds the lock, for the refusal message.
"""

import contextlib
import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from vae_lightning.errors import RunInUseError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock for the duration of the block; raise RunInUseError when another process does."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process that has not said who it is"
            raise RunInUseError(
                f"The run directory {run_dir} is in use by another training ({holder}); a second one would mix its "
                f"checkpoints, logs and metrics with that run's. Wait for it to finish (then rerun this command, "
                "which continues or skips the run), or train into another directory (drop resume=, or set "
                "hydra.run.dir=<dir>)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%dT%H:%M:%S')}: "
                     f"{' '.join(sys.argv)}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
