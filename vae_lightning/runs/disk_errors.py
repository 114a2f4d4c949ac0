"""A write the filesystem refuses (a full disk, a quota, a read-only or forbidden folder) as one paragraph that names
the folder, the space it has and the space the write needs, what was kept, and what to do then; and the check that
refuses a command before it starts when its output folder cannot be written."""

import errno
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_lightning.errors import StorageError

# A full disk or an exhausted quota: more space fixes them. Read-only and permission errors need another fix.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def storage_error(path: Path, error: OSError, needed_bytes: int | None, kept: str, then: str) -> StorageError:
    """One paragraph for a write into `path` (a file, or the folder when the file is unknown) that the filesystem
    refused: the folder, what it has free and what the write needs (when known), what is `kept` intact, and what to
    do `then`, once space is freed. The OSError itself need not be chained: the paragraph says all of it."""
    folder = path if path.is_dir() else path.parent
    what = f"into {folder}" if path.is_dir() else str(path)
    reason = error.strerror or str(error)
    if error.errno not in NO_SPACE:
        return StorageError(f"Could not write {what} ({reason}). {kept} Make {folder} writable (or free space "
                            f"there), then {then}")
    free = _free_bytes(folder)
    needs = f": it needs {format_bytes(needed_bytes)}" if needed_bytes else ""
    has = f"; {folder} has {format_bytes(free)} free" if free is not None else ""
    short = needed_bytes - (free or 0) if needed_bytes else 0
    fix = f"Free at least {format_bytes(short)} in {folder}" if short > 0 else f"Free space in {folder}"
    return StorageError(f"Could not write {what} ({reason}){needs}{has}. {kept} {fix}, then {then}")


@contextmanager
def storage_errors(folder: Path, kept: str, then: str) -> Iterator[None]:
    """Turn a write that the filesystem refuses anywhere in the block (a full disk, a quota, a read-only or
    forbidden folder) into one StorageError naming the file, or `folder` when the error does not say which, and
    the free space; other errors pass. Third-party writers (TensorBoard's event files, image encoders) raise the
    bare OSError; TensorBoard's writer thread meets it first and raises it again in this thread, so the thread's
    own report of it is left out."""
    thread_hook = threading.excepthook
    threading.excepthook = lambda hooked: None if _refused_write(hooked.exc_value) else thread_hook(hooked)
    try:
        yield
    except OSError as error:
        if not _refused_write(error):
            raise
        path = Path(error.filename) if error.filename else folder
        raise storage_error(path, error, None, kept, then) from None
    finally:
        threading.excepthook = thread_hook


def _refused_write(error: BaseException | None) -> bool:
    return isinstance(error, OSError) and error.errno in (*NO_SPACE, *NOT_WRITABLE)


def probe_writable(directory: Path) -> OSError | None:
    """Why a file cannot be created in `directory` (read-only, no permission, full), or None when one can."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as error:
        return error


def refuse_unwritable(directory: Path, command: str, fix: str) -> None:
    """Raise StorageError, before any work, when `command` could not create files in `directory` (or, while it does
    not exist yet, in its nearest existing parent): a read-only copy of a run, a folder of another user."""
    existing = nearest_existing(directory)
    if (error := probe_writable(existing)) is not None:
        raise StorageError(f"{command} writes into {directory}, but {existing} cannot be written "
                           f"({error.strerror or error}); nothing was written. {fix}")


def nearest_existing(path: Path) -> Path:
    """`path` itself when it exists, else its deepest existing parent (also when a part is too long to look up)."""
    existing = Path(path.absolute().anchor)
    for part in path.absolute().parts[1:]:
        try:
            if not (existing / part).exists():
                break
        except OSError:  # a name longer than the filesystem allows
            break
        existing = existing / part
    return existing


def format_bytes(count: int) -> str:
    """`count` bytes as a reader sizes a disk: 1.2 MB, 340 kB, 12 bytes."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None
