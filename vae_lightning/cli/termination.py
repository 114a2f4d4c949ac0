"""SIGTERM outside Lightning's loops: what a cluster sends before preempting a job or at its time limit.

Inside `Trainer.fit` and `Trainer.test` Lightning catches SIGTERM and stops at the end of a batch; anywhere else
(an analysis, a report) Python's default ends the process at once with status 143, printing nothing and recording
nothing. Raising an error instead lets the command say what was kept and how to continue, like training does.
"""

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vae_lightning.errors import PreemptedError
from vae_lightning.runs.commands import shell_command


@contextmanager
def sigterm_raises(error: Callable[[], BaseException]) -> Iterator[None]:
    """While the block runs, SIGTERM raises `error()` in the main thread (between two Python instructions, so a
    write in progress still finishes: every result file is written atomically). Elsewhere a no-op: only the main
    thread may set signal handlers. Pass Lightning's SIGTERMException, a SystemExit: no `except Exception` on the
    way (one run's failed analysis in a report) mistakes it for that one step's failure."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise error()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stopped_by_sigterm(command: str, kept: str) -> PreemptedError:
    """The error of `vae_lightning.<command>` stopped by SIGTERM: what is `kept`, and the same command again."""
    return PreemptedError(
        f"{command} was stopped by SIGTERM (what a cluster sends before preempting a job or at its time limit); "
        f"{kept}. Continue with the same command: {shell_command(f'vae_lightning.{command}', sys.argv[1:])}"
    )
