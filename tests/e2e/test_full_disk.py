"""A real full disk (a small tmpfs) wherever it fills — a checkpoint, TensorBoard's events, the analysis — stops the
run with one paragraph naming the folder, no traceback and exit 2; after more space the same run resumes and
finishes (issue 26, item 7). Needs the right to mount a tmpfs (root); skipped with the reason otherwise."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import TINY_RUN, run_cli

FAST_ANALYSIS = 'analysis=["iwae.num_samples=5","iwae.convergence.num_samples=[5]"]'


@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of a given size at `tmp_path/disk`; yields (mount point, a function that resizes it)."""
    disk = tmp_path / "disk"
    disk.mkdir()

    def mount(size: str, remount: bool = False) -> None:
        options = f"remount,size={size}" if remount else f"size={size}"
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)], capture_output=True,
                                text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'}): a full disk "
                        "needs root, or the fault-injection tests in tests/unit/runs/test_disk_errors.py stand in")

    yield disk, mount
    subprocess.run(["umount", str(disk)], capture_output=True)


# Sizes at which the tiny run's disk fills at a checkpoint, at TensorBoard's event files and in the analysis.
@pytest.mark.parametrize("size", ["300k", "520k", "900k"])
def test_a_full_disk_anywhere_is_one_paragraph_and_the_run_resumes_after_more_space(tiny_data_root, tmp_path,
                                                                                   small_disk, size):
    disk, mount = small_disk
    mount(size)
    command = [*TINY_RUN, f"data.root={tiny_data_root}", f"hydra.run.dir={disk / 'run'}", "analyze=true",
               FAST_ANALYSIS]
    result = run_cli("vae_lightning.train", *command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Exception in thread" not in result.stderr, result.stderr[-3000:]
    (paragraph,) = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert "No space left on device" in paragraph and str(disk / "run") in paragraph
    assert "Free " in paragraph and "resume=" in paragraph

    mount("8m", remount=True)
    result = run_cli("vae_lightning.train", *command, f"resume={disk / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(disk / "run" / "metrics.json").exists() and (disk / "run" / "analysis" / "metrics.json").exists()
