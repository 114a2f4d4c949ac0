"""Writes that a crash or a kill cannot leave half-done: write beside the target, then rename over it."""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Call `write` on a binary file beside `path`, sync it, then rename it over `path`: readers see the old file or
    the new one, never a truncated one. The temporary file is removed if anything fails; errors propagate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp creates 0600; results and caches are meant to be shared
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    finally:
        Path(temp_name).unlink(missing_ok=True)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write `payload` as indented JSON, atomically."""
    write_atomic(path, lambda handle: handle.write((json.dumps(payload, indent=2) + "\n").encode()))
