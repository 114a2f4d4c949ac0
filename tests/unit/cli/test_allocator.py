import ctypes
import sys

import pytest

from vae_lightning.cli.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_thresholds():
    assert keep_freed_memory() is True


def test_without_glibc_nothing_changes_and_nothing_fails(monkeypatch):
    def no_libc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert keep_freed_memory() is False
