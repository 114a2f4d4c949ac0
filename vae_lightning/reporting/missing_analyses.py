"""Analyse the finished runs that have no `analysis/metrics.json` yet, or one of a checkpoint that is no longer the
run's, so every row of the report has numbers of the checkpoint it names."""

from pathlib import Path

from omegaconf import DictConfig

from vae_lightning.analysis.job import analysis_config, analyze
from vae_lightning.errors import CheckpointError, VAELightningError
from vae_lightning.reporting.collect import FINISHED, Run
from vae_lightning.runs.checkpoint_files import file_digest
from vae_lightning.runs.loading import resolve_target


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
    for run in finished:
        tested = (run.metrics or {}).get("checkpoint")
        if run.analysis is not None and (reason := stale_analysis(run.analysis, run.path, cfg.checkpoint, tested)):
            print(f"Analysing {run.name} again: its analysis/metrics.json {reason}.", flush=True)
            run.analysis = None  # never a row mixing two checkpoints' numbers
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


def stale_analysis(analysis: dict, run_dir: Path, which: str, tested: str | None = None) -> str | None:
    """Why a run's recorded analysis is not of its current `which` (best | last) checkpoint, or None when it is: the
    file it names must be that checkpoint's file name, and its recorded SHA-256 that file's (a resumed run may have
    replaced the best checkpoint since; a moved run folder changes the path, not the name). When the checkpoints
    were deleted, an analysis of the best checkpoint that metrics.json names as `tested` is kept: nothing newer can
    exist, and it can no longer be analysed again."""
    analysed = Path(str(analysis.get("checkpoint", ""))).name
    try:
        current = resolve_target(run_dir, which).checkpoint_path
    except CheckpointError:
        if which == "best" and tested is not None and Path(tested).name == analysed:
            return None
        return f"is of {analysed or 'an unnamed checkpoint'}, which is not the run's tested best checkpoint"
    if analysed != current.name:
        return f"is of {analysed or 'an unnamed checkpoint'}, but the run's {which} checkpoint is now {current.name}"
    recorded = analysis.get("checkpoint_sha256")
    if recorded is None:
        return f"records no content hash of {analysed}, so it cannot be told from a newer file of that name"
    if recorded != file_digest(current):
        return f"is of an earlier {analysed}: the file has been written again since"
    return None


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
