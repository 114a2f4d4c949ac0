"""The project's Hydra configs composed in-process, as the entry points compose them, without running a job."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import vae_lightning.train  # registers the run-directory resolver the config uses

CONF_DIR = Path(vae_lightning.train.__file__).parent / "conf"


def compose_train(*overrides: str, return_hydra_config: bool = False) -> DictConfig:
    """train.yaml with `overrides` applied; with its `hydra` node when `return_hydra_config` (launchers, sweeper)."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=return_hydra_config)
