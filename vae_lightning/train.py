"""Train a VAE: compose the config, build data, model and trainer from it, fit, test the best checkpoint, and write
`metrics.json` into the run directory.

    python -m vae_lightning.train data=fashion model.beta=4
"""

import contextlib
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

import vae_lightning.config.schema  # noqa: F401  (registers the schema train.yaml names)
import vae_lightning.runs.keys  # noqa: F401  (registers the resolver the config reads)
from vae_lightning.analysis.job import analysis_config, analyze
from vae_lightning.atomic_files import remove_stale_temporaries, write_json_atomic
from vae_lightning.callbacks import (
    FitTimeInCheckpoints,
    LoggingIntervalForShortEpochs,
    RandomStateInCheckpoints,
    ResumeHintOnInterrupt,
    ThreadsInCheckpoints,
    ctrl_c_exit_status,
)
from vae_lightning.cli.commands import run_cli
from vae_lightning.cli.config_check import validate_train_config
from vae_lightning.cli.console import (
    busy_cores_warning,
    closing_summary,
    free_cores,
    progress_display,
    start_line,
    tensorboard_hint,
)
from vae_lightning.cli.console_copy import console_copied_to
from vae_lightning.cli.process_group import process_group_released
from vae_lightning.cli.run_guard import note_refusal
from vae_lightning.cli.termination import sigterm_raises
from vae_lightning.engine.building import build
from vae_lightning.engine.checkpoint_schema import check_resumable, import_path
from vae_lightning.engine.module import TrainingEngine, build_engine
from vae_lightning.engine.precision import choose_precision
from vae_lightning.errors import (
    PreemptedError,
    RunInUseError,
    RunRefusedError,
    StorageError,
    TrainingDivergedError,
    VAELightningError,
)
from vae_lightning.runs.checkpoint_files import (
    check_compatible,
    check_same_data,
    check_same_precision,
    check_same_run,
    load_checkpoint,
)
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO
from vae_lightning.runs.commands import resume_command
from vae_lightning.runs.directory import (
    CHECKPOINT_DIR,
    FAILURE_FILE,
    METRICS_FILE,
    clear_failure,
    finished_metrics,
    record_failure,
    resumable_checkpoint,
    set_aside_outputs,
    tensorboard_dir,
)
from vae_lightning.runs.disk_errors import storage_error, storage_errors
from vae_lightning.runs.lock import run_lock
from vae_lightning.runs.saved_config import has_run_config, save_run_config
from vae_lightning.runs.trusted_classes import PACKAGE

# `resume=<run dir>` makes that directory the run directory again (see hydra.run.dir in conf/train.yaml).
OmegaConf.register_new_resolver("vae.run_dir", lambda resume, fresh: resume or fresh, replace=True)
# The logger's folder (conf/logger/tensorboard.yaml), read once the run directory is claimed.
OmegaConf.register_new_resolver("vae.tensorboard_dir", lambda run_dir: str(tensorboard_dir(Path(run_dir))),
                                replace=True)


def train(cfg: DictConfig, run_dir: Path, resume_command: str) -> dict[str, Any]:
    """Fit and test one configuration in `run_dir`, continuing an interrupted attempt there; returns what it writes
    to `run_dir/metrics.json`."""
    validate_train_config(cfg)  # again here: a sweep's swept values reach only the job, not the run guard
    if cfg.threads:
        torch.set_num_threads(cfg.threads)

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg.data)
    engine = build_engine(cfg.model, cfg.optimizer, cfg.get("scheduler"), datamodule)  # no data is read yet
    precision = choose_precision(cfg.trainer.precision, cfg.trainer.accelerator)
    try:
        previous, ckpt_path = claim_run_dir(cfg, run_dir, engine, datamodule, precision.precision)
    except VAELightningError as refused:
        raise RunRefusedError(f"{refused} This command changed nothing in {run_dir}.") from refused
    if previous is not None:
        print(f"{run_dir} already holds a finished run; keeping its metrics.json (add redo=true to train it again).")
        return previous
    datamodule.prepare_data()  # find the data before the trainer is built, so a data problem is reported first
    fit_clock = FitTimeInCheckpoints()
    callbacks = training_callbacks(cfg.callbacks, resume_command, cfg.trainer.enable_progress_bar, fit_clock)
    # The start line gives the parameter count; +trainer.enable_model_summary=true brings Lightning's table back.
    summary_table = {} if "enable_model_summary" in cfg.trainer else {"enable_model_summary": False}
    trainer = build(cfg.trainer, callbacks=callbacks, logger=build(cfg.logger), plugins=[AtomicCheckpointIO()],
                    precision=precision.precision, **summary_table)
    if is_main_process():
        print(start_line(engine.model, datamodule.hparams.name, trainer, run_dir, precision), flush=True)
        if isinstance(trainer.accelerator, CPUAccelerator) and (
                warning := busy_cores_warning(torch.get_num_threads(), *free_cores())):
            print(warning, flush=True)

    with ctrl_c_exit_status(trainer):
        trainer.fit(engine, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        fit_seconds = fit_clock.fit_seconds()  # every attempt's, where this one continues a checkpoint
        results, best = test_best(trainer, engine, datamodule, cfg)
    raise_unless_finite(results, best)
    metrics = collect_test_metrics(results, engine.per_dimension_terms("test"))
    metrics.update(
        model=import_path(type(engine.model)),
        term_descriptions=dict(engine.model.term_descriptions),
        likelihood=describe_likelihood(engine.model, datamodule),
        dataset=datamodule.hparams.name,
        num_test_images=engine.num_tested_images(),
        test_set=test_set_identity(datamodule),
        checkpoint=_relative_if_inside(Path(best), run_dir) if best else None,
        epochs_trained=trainer.current_epoch,
        global_step=trainer.global_step,
        fit_seconds=round(fit_seconds, 2),
        resumed_from=_relative_if_inside(Path(ckpt_path), run_dir) if ckpt_path else None,
        seed=cfg.seed,
        precision=dataclasses.asdict(precision),
        hparams=dict(engine.model.hparams),
    )
    if is_main_process():
        if cfg.analyze and best:
            with sigterm_raises(SIGTERMException):  # metrics.json is not written yet: the resume analyses again
                try:
                    analyze(analysis_config(run_dir, [f"trusted_packages={own_packages(cfg)}", *cfg.analysis,
                                                      f"seed={cfg.seed}"]))
                except StorageError as error:
                    raise StorageError(f"{error} Training itself finished; the analysis and metrics.json follow "
                                       f"when the run is continued with: {resume_command}") from None
        # Last: its presence means the run is complete. Strict JSON; raise_unless_finite made every number finite.
        write_metrics(run_dir, metrics)
    return metrics


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    """metrics.json, atomically; a full disk is one paragraph saying that rerunning the command writes it."""
    path = run_dir / METRICS_FILE
    try:
        write_json_atomic(path, metrics, allow_nan=False)
    except OSError as error:
        raise storage_error(
            path, error, len(json.dumps(metrics, indent=2)) + 1, "The checkpoints are intact.",
            f"rerun with resume={run_dir}: it tests the best checkpoint again and writes the file.",
        ) from None


def test_best(trainer: L.Trainer, engine: TrainingEngine, datamodule: L.LightningDataModule,
              cfg: DictConfig) -> tuple[dict[str, float], str]:
    """Test the best checkpoint (the last weights where no checkpoint is kept); returns the results and its path."""
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if not best and trainer.checkpoint_callback and trainer.checkpoint_callback.monitor in trainer.callback_metrics:
        raise TrainingDivergedError(
            f"No validation score of this run was finite, so no checkpoint was kept as the best one: training "
            f"diverged. Lower optimizer.lr (now {cfg.optimizer.lr}) or β, or check the data; then train again with "
            "redo=true."
        )
    (results,) = trainer.test(engine, datamodule=datamodule, ckpt_path=best or None, weights_only=True,
                              verbose=False)  # the closing summary says it compactly
    if trainer.received_sigterm:  # Lightning stops only between test batches, never after the last one
        raise SIGTERMException
    return results, best


def training_callbacks(configured: DictConfig, resume_command: str, progress: bool,
                       fit_clock: FitTimeInCheckpoints) -> list[L.Callback]:
    """The progress display when `progress`, the run's own callbacks and those of the `callbacks` config group.
    The display comes before the resume hint: it closes its bars on an interruption before the hint is printed."""
    display = [progress_display()] if progress else []
    return [*display, fit_clock, RandomStateInCheckpoints(), ThreadsInCheckpoints(),
            ResumeHintOnInterrupt(resume_command), LoggingIntervalForShortEpochs(),
            *(build(callback) for callback in configured.values())]


def own_packages(cfg: DictConfig) -> list[str]:
    """The packages outside vae_lightning whose model or data classes this run was configured with: the user chose
    to run them, so the run's own analysis may import them again from its checkpoint."""
    return sorted({cfg[group]._target_.partition(".")[0] for group in ("model", "data")} - {PACKAGE})


def is_main_process() -> bool:
    """False in the extra processes of a multi-device run, which share the run directory with process 0."""
    return rank_zero_only.rank == 0


def claim_run_dir(cfg: DictConfig, run_dir: Path, engine: TrainingEngine, datamodule: L.LightningDataModule,
                  precision: str) -> tuple[dict[str, Any] | None, str | None]:
    """Decide, before writing anything into `run_dir`, what this command does there; returns the metrics of a run
    that already finished there with the same settings (nothing to do), else the checkpoint to start from.

    Continuing a run, or keeping a finished one, needs the command's model, data and thread settings to equal the
    run's; continuing one also needs the same precision and the same images (their fingerprints); otherwise the run
    is refused with its files untouched. With DDP only process 0 changes files.
    """
    main = is_main_process()
    if main:
        for folder in (run_dir, run_dir / CHECKPOINT_DIR):
            for stale in remove_stale_temporaries(folder):
                print(f"Removed {stale}, the partial file of a write that was killed.")
    previous = finished_metrics(run_dir)
    own = None if cfg.redo else resumable_checkpoint(run_dir)
    if own is not None:
        state = load_checkpoint(own)
        check_resumable(state, own)
        check_same_run(state, own, import_path(type(engine.model)), dict(engine.model.hparams),
                       dict(datamodule.hparams), torch.get_num_threads())
        if previous is None:  # continuing it: the same precision and the same images too
            check_same_precision(state, own, precision)
            check_data_unchanged(state, own, datamodule)
    if main:
        clear_failure(run_dir)  # the outcome of this command replaces that of the last one
    if previous is not None and not cfg.redo:
        return previous, None
    if cfg.redo and main and (moved := set_aside_outputs(run_dir)):
        print(f"redo=true: the earlier outputs of this run directory, its config included, were moved to {moved}")
    if own is not None:
        print(f"Continuing the interrupted run in {run_dir} from {own}")
        return None, str(own)
    if main:
        save_run_config(run_dir, cfg)  # a fresh start: the config describes what this command trains
    if cfg.ckpt_path:
        state = load_checkpoint(cfg.ckpt_path)
        check_resumable(state, cfg.ckpt_path)
        check_compatible(state, cfg.ckpt_path, dict(engine.model.hparams))
    return None, cfg.ckpt_path


def check_data_unchanged(checkpoint: dict[str, Any], path: Path, datamodule: L.LightningDataModule) -> None:
    """Read the data now (set up once, training reuses it) and refuse to continue on images other than the run's."""
    if not hasattr(datamodule, "fingerprints"):
        return
    datamodule.prepare_data()
    datamodule.setup("fit")
    check_same_data(checkpoint, path, datamodule.fingerprints(), datamodule.hparams.get("root"))


def test_set_identity(datamodule: L.LightningDataModule) -> str | None:
    """The test split's fingerprint, which `report` compares before it pairs runs; None for data without one."""
    return datamodule.fingerprint("test") if hasattr(datamodule, "fingerprint") else None


def describe_likelihood(model: nn.Module, datamodule: L.LightningDataModule) -> dict[str, object] | None:
    """What the model's reconstruction term is on this data (see `VAE.describe_likelihood`); None for a model
    without a decoder likelihood."""
    if not hasattr(model, "describe_likelihood"):
        return None
    return model.describe_likelihood(datamodule.pixels_are_binary())


def raise_unless_finite(results: dict[str, float], checkpoint: str) -> None:
    """A non-finite test result means the weights are broken; it must fail the run, never become metrics.json."""
    broken = sorted(key for key, value in results.items() if not math.isfinite(value))
    if broken:
        raise TrainingDivergedError(
            f"The test results of checkpoint {checkpoint or '(the last weights)'} are not finite "
            f"({', '.join(broken[:5])}): the model diverged. Lower optimizer.lr or β, then train again with "
            "redo=true."
        )


def _relative_if_inside(path: Path, directory: Path) -> str:
    return str(path.relative_to(directory)) if path.is_relative_to(directory) else str(path)


def collect_test_metrics(results: dict[str, float], per_dimension: dict[str, Tensor]) -> dict[str, Any]:
    """Lightning's `test/...` results as the objective's terms (`test`), and one list per per-dimension term
    (`test_kl_per_dim`, …), in dimension order."""
    return {
        "units": "nats per image, unless a term's description names its own (term_descriptions)",
        "test": {key.removeprefix("test/"): value for key, value in results.items() if key.startswith("test/")},
        **{f"test_{name}": values.tolist() for name, values in per_dimension.items()},
    }


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    command = resume_command(hydra_cfg.overrides.task, run_dir)
    try:
        with (run_lock(run_dir) if is_main_process() else contextlib.nullcontext(),
              console_copied_to(run_dir / f"{hydra_cfg.job.name}.log"), process_group_released()):
            return train_and_report(cfg, run_dir, in_sweep, command)
    except RunInUseError as error:  # the directory belongs to another process: write nothing into it
        print(f"\nError: {error}", file=sys.stderr)
        if in_sweep:
            return None
        sys.exit(2)


def train_and_report(cfg: DictConfig, run_dir: Path, in_sweep: bool, command: str) -> float | None:
    """Train, then print the closing summary; what stopped the run is recorded beside it and printed as one
    paragraph (in a sweep the other points go on), a bug keeps its traceback."""
    try:
        with storage_errors(run_dir, "Every finished epoch is kept in checkpoints/.", f"continue with: {command}"):
            metrics = train(cfg, run_dir, command)
    except (Exception, SIGTERMException) as raised:
        error = as_preemption(raised, command) if isinstance(raised, SIGTERMException) else raised
        recorded = False
        if isinstance(error, RunRefusedError):
            note_refusal(run_dir, error)  # the run's own files say what its last real attempt did
        elif is_main_process():
            if not has_run_config(run_dir):
                save_run_config(run_dir, cfg)  # a point that failed at once is still listed by `report`
            recorded = record_failure(run_dir, error)
        if not isinstance(error, VAELightningError) and not in_sweep:
            raise  # a bug: keep its traceback
        print(f"\nError: {error}" + (f"\n(recorded in {run_dir / FAILURE_FILE})" if recorded else ""),
              file=sys.stderr)
        if in_sweep:
            return None
        sys.exit(2)
    if is_main_process():
        print(closing_summary(run_dir, metrics))
        if not in_sweep:  # a sweep names its own folder at its end
            print(tensorboard_hint(run_dir))
    return metrics["test"].get("neg_elbo", metrics["test"]["loss"])  # what a sweeper minimises


def as_preemption(stop: SIGTERMException, command: str) -> PreemptedError:
    """Lightning turns SIGTERM into a SystemExit with status 0; a preempted run must fail visibly and say how to
    continue."""
    error = PreemptedError(
        "The run was stopped by SIGTERM (what a cluster sends before preempting a job or at its time limit) at the "
        f"end of a batch. Every finished epoch is kept in checkpoints/last.ckpt; continue it with: {command}"
    )
    error.__cause__ = stop
    return error


def cli() -> None:
    """`python -m vae_lightning.train` and `vae-train`: path arguments holding `=` or `,` need no quoting."""
    run_cli(main, ("resume", "ckpt_path"), "train")


if __name__ == "__main__":
    cli()
