"""`train analyze=true` is accepted for every model that `analyze` can study: a VAE, or any model that samples."""

import pytest
from omegaconf import OmegaConf

from vae_lightning.cli.config_check import check_run_settings
from vae_lightning.errors import ConfigError


def run_settings(target: str):
    return OmegaConf.create({"seed": 0, "threads": None, "analyze": True, "analysis": [],
                             "model": {"_target_": target}})


@pytest.mark.parametrize("target", ["vae_lightning.models.BetaVAE", "tests.extending_example.TinyGAN"])
def test_analyze_true_is_accepted_for_a_vae_and_for_a_model_that_samples(target):
    check_run_settings(run_settings(target))


def test_analyze_true_is_refused_for_a_model_with_neither_an_encoder_nor_samples():
    with pytest.raises(ConfigError, match="torch.nn.Linear has no encoder .* and cannot draw samples"):
        check_run_settings(run_settings("torch.nn.Linear"))
