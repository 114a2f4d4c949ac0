"""analyze.yaml read outside the `analyze` command, for train's `analyze=true` and report's missing analyses."""

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, OmegaConf


def analysis_config(run: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """analyze.yaml's settings for `run` with dotted `overrides`, for callers other than the CLI (train, report).

    Read as plain OmegaConf rather than through Hydra's compose, which cannot be called inside another Hydra app.
    """
    cfg = OmegaConf.create(resources.files("vae_lightning.conf").joinpath("analyze.yaml").read_text())
    for key in ("defaults", "hydra"):
        cfg.pop(key)
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist([f"run={run}", *overrides]))
