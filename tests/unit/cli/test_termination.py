"""SIGTERM outside Lightning's loops (an analysis, a report) raises the command's own error instead of ending the
process silently with status 143 (issue 26, item 12)."""

import os
import signal

import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException

from vae_lightning.cli.termination import sigterm_raises, stopped_by_sigterm
from vae_lightning.errors import PreemptedError


def test_sigterm_inside_the_block_raises_past_except_exception_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SIGTERMException), sigterm_raises(SIGTERMException):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except Exception:  # one step's error handling, as a report's per-run analysis has
            pytest.fail("SIGTERM was taken for one step's failure")
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_message_names_what_is_kept_and_the_same_command(monkeypatch):
    monkeypatch.setattr("sys.argv", ["report.py", "sweep=outputs/multirun/x"])
    stopped = stopped_by_sigterm("report", "kept")
    assert isinstance(stopped, PreemptedError)
    assert str(stopped) == (
        "report was stopped by SIGTERM (what a cluster sends before preempting a job or at its time limit); kept. "
        "Continue with the same command: python -m vae_lightning.report sweep=outputs/multirun/x")
