import os
import subprocess
import sys
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


def run_cli(module: str, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python -m <module> <overrides>` as a user would, from `cwd`, without the real-data variable."""
    env = {key: value for key, value in os.environ.items() if key != "VAE_LIGHTNING_DATA"}
    env["XDG_CACHE_HOME"] = str(cwd / "cache")
    env["PYTHONPATH"] = str(REPO_ROOT)  # lets a test inject faults with +callbacks.x._target_=tests.fault_injection.X
    return subprocess.run([sys.executable, "-m", module, *overrides], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def tensorboard_runs(logdir: Path) -> set[str]:
    """The run names `tensorboard --logdir <logdir>` lists: every folder under it holding event files."""
    multiplexer = EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    return set(multiplexer.Runs())
