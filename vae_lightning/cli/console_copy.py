"""`train.log`: a copy of everything a run prints, errors included, without a progress bar's redraws.

Hydra's job logging writes the run's log records into the same file (both append); this adds what is printed.
"""

import contextlib
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

# Terminal control sequences (colours, cursor moves) that a progress bar writes.
ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A nested bar (Lightning's validation bar under the epoch's) is drawn one line down, then the cursor moves back up.
CURSOR_UP = "\x1b[A"


class _Copy:
    """A text stream that writes through to `stream` and appends each finished line to `log`: of a line a bar
    redrew with carriage returns only its last state, and none of a nested bar's transient lines.

    When the log cannot be written (a full disk), copying stops with one line on the console: the console is what
    says why the run stopped, and a failing copy must not bury it under tracebacks."""

    def __init__(self, stream: TextIO, log: TextIO) -> None:
        self.stream = stream
        self.log = log
        self._pending = ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        if self.log.closed:
            return len(text)
        *lines, self._pending = (self._pending + text).split("\n")
        kept = [ESCAPE_SEQUENCE.sub("", line.rsplit("\r", 1)[-1]).rstrip() for line in lines
                if CURSOR_UP not in line.rsplit("\r", 1)[-1]]
        try:
            self.log.write("".join(f"{line}\n" for line in kept if line))
            self.log.flush()
        except OSError as error:
            _stop_copying(self.log, self.stream, error)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding … of the real stream
        return getattr(self.stream, name)


def _stop_copying(log: TextIO, stream: TextIO, error: OSError) -> None:
    """Close `log` without flushing what it could not take, and say so once on the console."""
    with contextlib.suppress(OSError):  # the buffered lines are what could not be written; the console has them
        log.close()
    stream.write(f"\n(The console is no longer copied into {log.name}: {error.strerror or error}.)\n")


@contextmanager
def console_copied_to(log_file: Path) -> Iterator[None]:
    """Copy stdout and stderr into `log_file` while the block runs; an exception leaving the block is written there
    too, since whoever reports it on the console does so after the block."""
    with log_file.open("a") as log:
        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Copy(sys.stdout, log), _Copy(sys.stderr, log)
        try:
            yield
        except BaseException as error:
            if not isinstance(error, SystemExit) and not log.closed:
                try:
                    log.write("".join(traceback.format_exception(error)))
                    log.flush()
                except OSError as write_error:
                    _stop_copying(log, streams[1], write_error)
            raise
        finally:
            sys.stdout, sys.stderr = streams
