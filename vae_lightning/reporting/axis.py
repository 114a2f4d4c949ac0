"""The sweep's axis (`report.axis`): the config key whose values the report lays the runs out along, and how that key
reads in file names, CSV headers, tables, figures and the summary."""

import dataclasses
from typing import Any

from omegaconf import DictConfig, OmegaConf

from vae_lightning.errors import ConfigError

# How figures and the summary write the keys sweeps usually vary; any other key is written as itself.
LABELS = {"model.beta": "β", "model.gamma": "γ", "model.alpha": "α", "model.k": "K"}


@dataclasses.dataclass(frozen=True)
class SweepAxis:
    """A config key such as `model.beta` (a β sweep), `model.gamma` (FactorVAE's γ) or `model.k` (IWAE's K)."""

    key: str

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ConfigError(f"report.axis={self.key!r} is not a config key: pass the dotted key the sweep varies, "
                              "e.g. report.axis=model.gamma.")
        if self.key == "seed":
            raise ConfigError("report.axis=seed is not allowed: the report averages every point over its seeds. Pass "
                              "the config key the sweep varies besides the seed, e.g. report.axis=model.beta.")

    @property
    def name(self) -> str:
        """The key's last part, in file names and CSV headers: `by_beta.csv`, `metrics_vs_gamma.png`."""
        return self.key.rsplit(".", 1)[-1]

    @property
    def label(self) -> str:
        """How figures, tables and the summary write the key: β for model.beta, the key itself when it has no symbol."""
        return LABELS.get(self.key, self.key)

    def value_in(self, config: DictConfig) -> Any:
        """The key's value in a run's composed config, or None when the config does not have it."""
        return OmegaConf.select(config, self.key, default=None)


def is_number(value: Any) -> bool:
    """Whether `value` can be a point on the axis (a bool, though an int to Python, cannot)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
