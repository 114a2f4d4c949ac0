"""Writes that a crash, a kill or a full disk cannot leave half-done: write beside the target, sync, rename over it,
sync the directory.

The temporary file lives in the target's own directory, never in TMPDIR: a rename is atomic only within one
filesystem, and a tmpfs `/tmp` is a different one.
"""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

TEMPORARY_SUFFIX = ".tmp"


def write_atomic(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Call `write` on a binary file beside `path`, sync it, rename it over `path` and sync the directory: readers
    see the old file or the new one, never a truncated one, even after a power cut. The temporary file is removed if
    anything fails; errors propagate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp creates 0600; results and caches are meant to be shared
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
        sync_directory(path.parent)
    finally:
        Path(temp_name).unlink(missing_ok=True)


def sync_directory(directory: Path) -> None:
    """Make a rename inside `directory` durable: without this a crash can undo it although the data was synced."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporary files that a killed `write_atomic` left in `directory`; returns what was removed.

    Only call this while no other process writes into `directory` (the run lock guarantees it for a run)."""
    stale = sorted(directory.glob(f".*{TEMPORARY_SUFFIX}")) if directory.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_json_atomic(path: Path, payload: Any, allow_nan: bool = True) -> None:
    """Write `payload` as indented JSON, atomically. With `allow_nan=False` the JSON is strict: a NaN or infinity
    raises ValueError (and the old file stays) instead of writing `NaN`, which JSON readers other than Python's
    refuse."""
    data = (json.dumps(payload, indent=2, allow_nan=allow_nan) + "\n").encode()
    write_atomic(path, lambda handle: handle.write(data))
