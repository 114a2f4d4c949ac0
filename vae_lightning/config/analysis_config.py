"""analyze.yaml read outside the `analyze` command, for train's `analyze=true` and report's missing analyses."""

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from vae_lightning.config.messages import expected_type
from vae_lightning.config.schema import AnalyzeSettings
from vae_lightning.errors import ConfigError


def analysis_config(run: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """analyze.yaml's settings for `run` with dotted `overrides`, typed by its schema, for callers other than the CLI
    (train, report); OmegaConf raises for an override that is not a key of analyze.yaml or not of its type (see
    check_analysis_overrides).

    Read as plain OmegaConf rather than through Hydra's compose, which cannot be called inside another Hydra app.
    """
    cfg = OmegaConf.create(resources.files("vae_lightning.conf").joinpath("analyze.yaml").read_text())
    for key in ("defaults", "hydra"):
        cfg.pop(key)
    return OmegaConf.merge(AnalyzeSettings, cfg, OmegaConf.from_dotlist([f"run={run}", *overrides]))


def check_analysis_overrides(overrides: Sequence[str]) -> None:
    """Each `analysis=[...]` entry is `key=value` with a key of analyze.yaml and a value of that key's type, so a
    typo fails now rather than after training or in the middle of a report, when the analysis starts."""
    for override in overrides:
        if "=" in override:
            try:
                analysis_config("<run>", [override])
                continue
            except ValidationError as error:
                key, allowed = expected_type(error)
                raise ConfigError(
                    f"analysis entry {override!r} is not allowed: analyze.yaml's {key} must be {allowed}."
                ) from None
            except (ConfigKeyError, ConfigAttributeError):
                pass  # refused below, like an entry without "="
        raise ConfigError(
            f"analysis entry {override!r} is not allowed: it must be key=value with a key of analyze.yaml "
            "(vae_lightning/conf/analyze.yaml), e.g. 'analysis=[\"iwae.num_images=1000\"]'."
        )
