"""SIGTERM outside Lightning's loops (an analysis, a report) raises the command's own error instead of ending the
process silently with status 143 (issue 26, item 12)."""

import os
import signal

import pytest

from vae_lightning.cli.termination import sigterm_raises, stopped_by_sigterm
from vae_lightning.errors import PreemptedError


def test_sigterm_inside_the_block_raises_the_error_and_the_old_handler_comes_back(monkeypatch):
    monkeypatch.setattr("sys.argv", ["report.py", "sweep=outputs/multirun/x"])
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(PreemptedError) as stopped, sigterm_raises(lambda: stopped_by_sigterm("report", "kept")):
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before
    assert str(stopped.value) == (
        "report was stopped by SIGTERM (what a cluster sends before preempting a job or at its time limit); kept. "
        "Continue with the same command: python -m vae_lightning.report sweep=outputs/multirun/x")
