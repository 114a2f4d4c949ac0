"""Analyse the finished runs that have no `analysis/metrics.json` yet, so every row of the report has its numbers."""

from omegaconf import DictConfig

from vae_lightning.analyze import analysis_config, analyze
from vae_lightning.errors import VAELightningError
from vae_lightning.reporting.collect import FINISHED, Run


def analysis_overrides(cfg: DictConfig, seed: int | None) -> list[str]:
    """analyze.yaml overrides for one run: the report's checkpoint, device and data settings, the run's own seed (as
    train's `analyze=true` uses), then the report's `analysis` list, which wins."""
    settings = {
        "checkpoint": cfg.checkpoint,
        "device": cfg.device,
        "seed": seed,
        "trusted_packages": list(cfg.trusted_packages) or None,
        **{f"data.{key}": value for key, value in cfg.data.items()},
    }
    return [f"{key}={value}" for key, value in settings.items() if value is not None] + list(cfg.analysis)


def analyse_missing(runs: list[Run], cfg: DictConfig) -> None:
    """Run `vae_lightning.analyze` on each finished run without an analysis, filling `run.analysis` in place.

    A run whose analysis fails keeps empty analysis columns and records why, so one bad checkpoint or data folder
    does not sink the report.
    """
    pending = [run for run in runs if run.status == FINISHED and run.analysis is None]
    for number, run in enumerate(pending, start=1):
        print(f"Analysing {number}/{len(pending)}: {run.name} …", flush=True)
        try:
            _, run.analysis = analyze(analysis_config(run.path, analysis_overrides(cfg, run.seed)))
        except VAELightningError as error:
            run.error = f"analysis failed: {error}"
            print(f"Analysis of {run.name} failed: {error}", flush=True)
