"""The run's `.hydra/` record (config.yaml, hydra.yaml, overrides.yaml), written by the run itself once it knows
the directory is its own to write.

Hydra would write these files before the job starts (`hydra.output_subdir`, set to null in conf/train.yaml), so a
resume that is then refused, or a rerun of a finished run with other settings, would overwrite the config of the run
that is already there.
"""

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from vae_lightning.runs.directory import CONFIG_DIR


def has_run_config(run_dir: Path) -> bool:
    return (run_dir / CONFIG_DIR / "config.yaml").is_file()


def save_run_config(run_dir: Path, cfg: DictConfig) -> None:
    """Write the composed task config, Hydra's own config and the command-line overrides, as Hydra would."""
    hydra_cfg = HydraConfig.get()
    folder = run_dir / CONFIG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, folder / "config.yaml")
    OmegaConf.save(OmegaConf.create({"hydra": hydra_cfg}), folder / "hydra.yaml")
    OmegaConf.save(hydra_cfg.overrides.task, folder / "overrides.yaml")
