"""Every test under tests/e2e/ runs the real CLI, a benchmark or a real-data training: all are marked `slow`, so
`pytest -m "not slow"` runs the unit tests alone."""

from pathlib import Path

import pytest

E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's collection hook sees every collected item, not only its folder's: mark this folder's alone.
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.slow)
