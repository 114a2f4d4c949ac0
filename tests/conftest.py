import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

from tests.data_helpers import write_idx_dataset

REPO_ROOT = Path(__file__).resolve().parent.parent

# Small enough that one CLI run trains in seconds on 2 CPU cores, real enough to exercise every component.
TINY_RUN = [
    "data=fashion", "data.download=false", "data.batch_size=16", "data.eval_batch_size=32",
    "model.latent_dim=4", "model.channels=[4,8]", "model.hidden_dim=16", "trainer.max_epochs=2",
    "callbacks.latent_panels.num_images=4", "callbacks.latent_panels.num_samples=4",
    "callbacks.latent_panels.traversal_dims=3", "callbacks.latent_panels.traversal_steps=5",
    "trainer.enable_progress_bar=false",
]


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, folder="FashionMNIST", n_train=96, n_test=32)
    return root


def cli_environment(cwd: Path) -> dict[str, str]:
    """The environment of a CLI run in a test: without the real-data variable, with its own cache."""
    env = {key: value for key, value in os.environ.items() if key != "VAE_LIGHTNING_DATA"}
    env["XDG_CACHE_HOME"] = str(cwd / "cache")
    env["PYTHONPATH"] = str(REPO_ROOT)  # lets a test inject faults with +callbacks.x._target_=tests.fault_injection.X
    return env


def run_cli(module: str, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python -m <module> <overrides>` as a user would, from `cwd`, without the real-data variable."""
    return subprocess.run([sys.executable, "-m", module, *overrides], cwd=cwd, env=cli_environment(cwd),
                          capture_output=True, text=True, timeout=300)


def run_cli_in_terminal(module: str, *overrides: str, cwd: Path) -> tuple[int, str]:
    """Like `run_cli`, with stdout and stderr on one pseudo-terminal, as in a person's terminal; returns the exit
    status and every character written, carriage returns and escape codes included."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    process = subprocess.Popen([sys.executable, "-m", module, *overrides], cwd=cwd, env=cli_environment(cwd),
                               stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    written = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(leader)
    return process.wait(timeout=300), written.decode(errors="replace")


def tensorboard_runs(logdir: Path) -> set[str]:
    """The run names `tensorboard --logdir <logdir>` lists: every folder under it holding event files."""
    multiplexer = EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    return set(multiplexer.Runs())
