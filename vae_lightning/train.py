"""Train a VAE: compose the config, build data, model and trainer from it, fit, test the best checkpoint, and write
`metrics.json` into the run directory.

    python -m vae_lightning.train data=fashion model.beta=4
"""

import sys
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

import vae_lightning.run_keys  # noqa: F401  (registers the resolver the config reads)
from vae_lightning.analyze import analysis_config, analyze
from vae_lightning.atomic import write_json_atomic
from vae_lightning.building import build, build_model
from vae_lightning.callbacks import RandomStateInCheckpoints, ResumeHintOnInterrupt
from vae_lightning.checkpoints import check_compatible, check_same_run, load_checkpoint
from vae_lightning.commands import resume_command, run_cli
from vae_lightning.config_check import validate_train_config
from vae_lightning.errors import VAELightningError
from vae_lightning.models.vae import import_path
from vae_lightning.registry import PACKAGE
from vae_lightning.run_state import (
    FAILURE_FILE,
    clear_failure,
    finished_metrics,
    record_failure,
    resumable_checkpoint,
    set_aside_outputs,
)

# `resume=<run dir>` makes that directory the run directory again (see hydra.run.dir in conf/train.yaml).
OmegaConf.register_new_resolver("vae.run_dir", lambda resume, fresh: resume or fresh, replace=True)


def train(cfg: DictConfig, run_dir: Path, resume_command: str) -> dict[str, Any]:
    """Fit and test one configuration in `run_dir`, continuing an interrupted attempt there; returns what it writes
    to `run_dir/metrics.json`."""
    validate_train_config(cfg)  # again here: a sweep's swept values reach only the job, not the run guard
    previous = finished_metrics(run_dir)
    if previous is not None and not cfg.redo:
        print(f"{run_dir} already holds a finished run; keeping its metrics.json (add redo=true to train it again).")
        return previous
    if is_main_process():  # with DDP, the other processes start later and must not touch the run's files
        if cfg.redo and (moved := set_aside_outputs(run_dir)):
            print(f"redo=true: the earlier outputs of this run directory were moved to {moved}")
        clear_failure(run_dir)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg.data)
    datamodule.prepare_data()  # find the data before anything heavier is built, so a data problem is reported first
    model = build_model(cfg.model, cfg.optimizer, datamodule)
    ckpt_path = starting_checkpoint(cfg, run_dir, dict(model.hparams), dict(datamodule.hparams))
    callbacks = [RandomStateInCheckpoints(), ResumeHintOnInterrupt(resume_command),
                 *(build(callback) for callback in cfg.callbacks.values())]
    trainer = build(cfg.trainer, callbacks=callbacks, logger=build(cfg.logger))

    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    fit_seconds = time.perf_counter() - started

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    (results,) = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
    metrics = collect_test_metrics(results)
    metrics.update(
        model=import_path(type(model)),
        term_descriptions=dict(model.term_descriptions),
        likelihood=model.describe_likelihood(datamodule.pixels_are_binary()),
        dataset=datamodule.hparams.name,
        num_test_images=datamodule.num_images("test"),
        checkpoint=_relative_if_inside(Path(best), run_dir) if best else None,
        epochs_trained=trainer.current_epoch,
        global_step=trainer.global_step,
        fit_seconds=round(fit_seconds, 2),
        resumed_from=_relative_if_inside(Path(ckpt_path), run_dir) if ckpt_path else None,
        seed=cfg.seed,
        hparams=dict(model.hparams),
    )
    if is_main_process():
        if cfg.analyze and best:
            analyze(analysis_config(run_dir, [f"trusted_packages={own_packages(cfg)}", *cfg.analysis,
                                              f"seed={cfg.seed}"]))
        write_json_atomic(run_dir / "metrics.json", metrics)  # last: its presence means the run is complete
    return metrics


def own_packages(cfg: DictConfig) -> list[str]:
    """The packages outside vae_lightning whose model or data classes this run was configured with: the user chose
    to run them, so the run's own analysis may import them again from its checkpoint."""
    return sorted({cfg[group]._target_.partition(".")[0] for group in ("model", "data")} - {PACKAGE})


def is_main_process() -> bool:
    """False in the extra processes of a multi-device run, which share the run directory with process 0."""
    return rank_zero_only.rank == 0


def starting_checkpoint(cfg: DictConfig, run_dir: Path, model_hparams: dict[str, Any],
                        data_hparams: dict[str, Any]) -> str | None:
    """The run directory's own last checkpoint when an attempt was interrupted there, else `cfg.ckpt_path`."""
    own = resumable_checkpoint(run_dir)
    if own is not None:
        check_same_run(load_checkpoint(own), own, model_hparams, data_hparams)
        print(f"Continuing the interrupted run in {run_dir} from {own}")
        return str(own)
    if cfg.ckpt_path:
        check_compatible(load_checkpoint(cfg.ckpt_path), cfg.ckpt_path, model_hparams)
    return cfg.ckpt_path


def _relative_if_inside(path: Path, directory: Path) -> str:
    return str(path.relative_to(directory)) if path.is_relative_to(directory) else str(path)


def collect_test_metrics(results: dict[str, float]) -> dict[str, Any]:
    """Regroup Lightning's flat `test/...` results into the objective's terms (`test`) and one list per
    per-dimension term (`test_kl_per_dim`, …), in dimension order."""
    terms = {key.removeprefix("test/"): value for key, value in results.items()
             if key.startswith("test/") and key.count("/") == 1}
    per_dim: dict[str, dict[int, float]] = {}
    for key, value in results.items():
        if key.startswith("test/") and key.count("/") == 2:
            _, name, dim = key.split("/")
            per_dim.setdefault(name, {})[int(dim)] = value
    return {
        "units": "nats per image",
        "test": terms,
        **{f"test_{name}": [values[d] for d in sorted(values)] for name, values in per_dim.items()},
    }


def summary(run_dir: Path, metrics: dict[str, Any]) -> str:
    test = metrics["test"]
    return (
        f"Run directory: {run_dir}\n"
        f"Test ({metrics['num_test_images']} {metrics['dataset']} images, checkpoint {metrics['checkpoint']}): "
        f"negative ELBO {test['neg_elbo']:.2f} nats/image = reconstruction {test['recon']:.2f} + KL {test['kl']:.2f}"
    )


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        metrics = train(cfg, run_dir, resume_command(hydra_cfg.overrides.task, run_dir))
    except Exception as error:
        # Whatever stopped this run is recorded beside it; in a sweep the other points go on.
        if is_main_process():
            record_failure(run_dir, error)
        if not isinstance(error, VAELightningError) and not in_sweep:
            raise  # a bug: keep its traceback
        print(f"\nError: {error}\n(recorded in {run_dir / FAILURE_FILE})", file=sys.stderr)
        if in_sweep:
            return None
        sys.exit(2)
    if is_main_process():
        print(summary(run_dir, metrics))
    return metrics["test"]["neg_elbo"]


def cli() -> None:
    """`python -m vae_lightning.train` and `vae-train`: path arguments holding `=` or `,` need no quoting."""
    run_cli(main, ("resume", "ckpt_path"))


if __name__ == "__main__":
    cli()
