"""Analyse the finished runs that have no `analysis/metrics.json` yet, so every row of the report has its numbers."""

from omegaconf import DictConfig

from vae_lightning.analysis.job import analysis_config, analyze
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
    finished = [run for run in runs if run.status == FINISHED]
    pending = [run for run in finished if run.analysis is None]
    if len(pending) < len(finished):
        print(f"Reusing the existing analyses of {len(finished) - len(pending)} run(s) (their analysis/metrics.json).")
    if pending:
        print(analysis_plan(pending, cfg), flush=True)
    for number, run in enumerate(pending, start=1):
        print(f"Analysing {number}/{len(pending)}: {run.name} …", flush=True)
        try:
            _, run.analysis = analyze(analysis_config(run.path, analysis_overrides(cfg, run.seed)))
        except VAELightningError as error:
            run.error = f"analysis failed: {error}"
            print(f"Analysis of {run.name} failed: {error}", flush=True)


def analysis_plan(pending: list[Run], cfg: DictConfig) -> str:
    """What analysing `pending` computes and roughly how long it takes, with the settings that make it shorter."""
    settings = analysis_config(pending[0].path, analysis_overrides(cfg, pending[0].seed))
    samples, images = settings.iwae.num_samples, settings.iwae.num_images
    seconds = [estimated_seconds(run, samples, images) for run in pending]
    duration = (f", roughly {_minutes(sum(seconds))} in all (from each run's training speed)"
                if all(s is not None for s in seconds) else "")
    return (f"Analysing {len(pending)} run(s) without an analysis: encoding the training and test splits, an IWAE "
            f"bound with K = {samples} samples on {images or 'every'} test image(s), active units, probes and "
            f"traversals{duration}. analyze_missing=false skips this; 'analysis=[\"iwae.num_images=200\"]' "
            "shortens it.")


def estimated_seconds(run: Run, samples: int, images: int | None) -> float | None:
    """Rough seconds to analyse `run`: one decoder pass per IWAE sample, priced like one training image, plus one
    encoder pass per image of the training and test splits at three times that speed. None without timing."""
    metrics = run.metrics or {}
    batch_size = run.config.data.get("batch_size") if run.config is not None else None
    if not (metrics.get("fit_seconds") and metrics.get("global_step") and metrics.get("epochs_trained")
            and batch_size):
        return None
    images_per_second = metrics["global_step"] * batch_size / metrics["fit_seconds"]
    test_images = metrics.get("num_test_images", 0)
    encoded = metrics["global_step"] * batch_size / metrics["epochs_trained"] + test_images
    return (samples * (images or test_images) + encoded / 3) / images_per_second


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
