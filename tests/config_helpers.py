"""The project's Hydra configs composed in-process, as the entry points compose them, without running a job."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig

import vae_lightning.train  # registers the run-directory resolver the config uses
from vae_lightning.config.messages import composition_error

CONF_DIR = Path(vae_lightning.train.__file__).parent / "conf"


def compose_train(*overrides: str, return_hydra_config: bool = False) -> DictConfig:
    """train.yaml with `overrides` applied; with its `hydra` node when `return_hydra_config` (launchers, sweeper). A
    key or type the structured schema refuses raises the CLI's ConfigError, as `python -m vae_lightning.train` does."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        try:
            return compose("train", overrides=list(overrides), return_hydra_config=return_hydra_config)
        except ConfigCompositionException as error:
            refused = composition_error(error, "vae_lightning.train")
            if refused is None:
                raise
            raise refused from error
