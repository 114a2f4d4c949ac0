"""`train.log`: a copy of everything a run prints, errors included, without a progress bar's redraws.

Hydra's job logging writes the run's log records into the same file (both append); this adds what is printed.
"""

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
    redrew with carriage returns only its last state, and none of a nested bar's transient lines."""

    def __init__(self, stream: TextIO, log: TextIO) -> None:
        self.stream = stream
        self.log = log
        self._pending = ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            last_state = line.rsplit("\r", 1)[-1]
            shown = ESCAPE_SEQUENCE.sub("", last_state).rstrip()
            if shown and CURSOR_UP not in last_state:
                self.log.write(shown + "\n")
        self.log.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding … of the real stream
        return getattr(self.stream, name)


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
            if not isinstance(error, SystemExit):
                log.write("".join(traceback.format_exception(error)))
            raise
        finally:
            sys.stdout, sys.stderr = streams
