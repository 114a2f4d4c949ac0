"""The whole analysis of one trained run: restore it, compute the numbers, draw the figures, and write them to
`<run>/analysis/` and the run's TensorBoard. `python -m vae_lightning.analyze`, `train analyze=true` and `report` all
run it."""

import dataclasses
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError
from torch.utils.tensorboard import SummaryWriter

from vae_lightning.analysis.analysis_summary import render_analysis_summary
from vae_lightning.analysis.factor_scores import score_factors
from vae_lightning.analysis.metrics import compute_metrics, encode_splits, probe_metrics
from vae_lightning.analysis.panels import draw_panels
from vae_lightning.analysis.plots import Publisher
from vae_lightning.analysis.progress import PhaseClock
from vae_lightning.analysis.sample_quality.numbers import can_sample, measure_samples, publish_samples
from vae_lightning.analysis.settings_check import ANALYZE_RANGES, check_ranges
from vae_lightning.atomic_files import write_json_atomic
from vae_lightning.config.messages import expected_type
from vae_lightning.config.schema import AnalyzeSettings
from vae_lightning.engine.checkpoint_schema import import_path
from vae_lightning.engine.precision import PrecisionChoice, autocast, choose_evaluation_precision
from vae_lightning.errors import ConfigError
from vae_lightning.models.contract import GenerativeModel
from vae_lightning.models.vae import VAE
from vae_lightning.runs.checkpoint_files import file_digest
from vae_lightning.runs.disk_errors import refuse_unwritable, storage_errors
from vae_lightning.runs.loading import AnalysisTarget, open_run


def analyze(cfg: DictConfig) -> tuple[Path, dict[str, Any]]:
    """Run the whole analysis of `cfg.run`; returns the output folder and what it writes to its metrics.json."""
    check_ranges(cfg, ANALYZE_RANGES, "analyze.yaml")
    target, model, datamodule = open_run(
        cfg.run, cfg.device, cfg.checkpoint, cfg.trusted_packages, root=cfg.data.root, cache_dir=cfg.data.cache_dir,
        eval_batch_size=cfg.data.eval_batch_size, download=False)
    if not isinstance(model, VAE) and not can_sample(model):
        raise ConfigError(
            f"{target.checkpoint_path} holds a {type(model).__name__}, which has no encoder and cannot draw samples "
            "(no `sample(n, generator)` method): `analyze` studies the latent space of a VAE (a subclass of "
            "vae_lightning.models.VAE) and the samples of any model that draws them, so there is nothing to analyse."
        )
    for folder in (target.output_dir, target.tensorboard_dir):
        refuse_unwritable(folder, "The analysis", "Make the run writable (chmod -R u+w <run>), or analyse a copy: "
                          "cp -r <run> <a writable place> and pass run=<the copy>.")
    with storage_errors(target.output_dir, "The run's checkpoints are untouched.", "run the analysis again."):
        target.output_dir.mkdir(parents=True, exist_ok=True)
        precision = choose_evaluation_precision(cfg.precision, model.device)
        print(f"Analysing {target.checkpoint_path} on {datamodule.hparams.name}, precision {precision.describe()}; "
              f"results go to {target.output_dir}")
        clock = PhaseClock()
        with autocast(precision, model.device):
            if isinstance(model, VAE):
                metrics = _numbers(cfg, model, datamodule, target, precision, clock)
            else:
                print(f"{type(model).__name__} has no encoder: its samples are measured, its latent space is not.")
                metrics = _sample_numbers(cfg, model, datamodule, target, precision, clock)
        write_json_atomic(target.output_dir / "metrics.json", metrics)
        # timings apart: metrics.json is a function of the seed, timings are not
        write_json_atomic(target.output_dir / "timings.json", {"seconds": clock.seconds})
        (target.output_dir / "summary.md").write_text(render_analysis_summary(metrics))
        OmegaConf.save(cfg, target.output_dir / "analysis_config.yaml")
    return target.output_dir, metrics


def _numbers(cfg: DictConfig, model: VAE, datamodule: LightningDataModule, target: AnalysisTarget,
             precision: PrecisionChoice, clock: PhaseClock) -> dict[str, Any]:
    """Every number and figure of the analysis, under the caller's autocast (figures also go to TensorBoard), each
    part announced and timed by `clock`."""
    with clock("encoding", "the training and test splits"):
        encoded = encode_splits(model, datamodule, cfg.probes.max_train_images, cfg.seed)
    train, test = encoded["train"], encoded["test"]
    metrics = {
        "checkpoint": str(target.checkpoint_path), "checkpoint_sha256": file_digest(target.checkpoint_path),
        "dataset": datamodule.hparams.name, "seed": cfg.seed,
        "beta": model.hparams.get("beta"), "latent_dim": model.hparams.latent_dim, "settings": dict(model.hparams),
        "model": import_path(type(model)), "precision": dataclasses.asdict(precision),
        **compute_metrics(model, datamodule, test, cfg.iwae, cfg.active_units.threshold, cfg.seed, clock),
    }
    if (factors := score_factors(model, datamodule, cfg.factor_metrics, cfg.seed)) is not None:
        metrics["factor_metrics"] = factors
    with clock("sample quality", f"{cfg.sample_quality.num_samples:,} samples against the test split"):
        metrics["sample_quality"] = measure_samples(model, datamodule, cfg.sample_quality, cfg.seed)[0]
    with (clock("probes and figures", f"linear and {cfg.probes.knn_k}-NN probes on {len(train.mu):,} train → "
                f"{len(test.mu):,} test codes, beside the figures"),
          SummaryWriter(str(target.tensorboard_dir)) as writer, one_torch_thread(),
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="probes") as worker):
        # The probes (scikit-learn on one thread, mostly outside the GIL) and the figures (matplotlib, one core) each
        # leave the other core idle: side by side they take the longer one's time, not the sum.
        probes = worker.submit(probe_metrics, datamodule, train, test,
                               torch.tensor(metrics["objective"]["kl_per_dim"]), cfg.probes, cfg.seed)
        traversal = draw_panels(model, datamodule, test, metrics, cfg, target.output_dir, writer)
        metrics.update(probes.result())
        metrics["traversal"] = traversal
        writer.add_text("analysis/summary", render_analysis_summary(metrics))
    return metrics


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for the block, its own count restored after: beside a busy worker thread a second
    intra-op thread would only contend for the core the worker uses."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sample_numbers(cfg: DictConfig, model: GenerativeModel, datamodule: LightningDataModule, target: AnalysisTarget,
                    precision: PrecisionChoice, clock: PhaseClock) -> dict[str, Any]:
    """What `analyze` measures of a model without an encoder (a GAN, a diffusion model): its samples only."""
    metrics = {
        "checkpoint": str(target.checkpoint_path), "checkpoint_sha256": file_digest(target.checkpoint_path),
        "dataset": datamodule.hparams.name, "seed": cfg.seed, "settings": dict(model.hparams),
        "model": import_path(type(model)), "precision": dataclasses.asdict(precision),
        "term_descriptions": dict(model.term_descriptions),
    }
    with clock("sample quality", f"{cfg.sample_quality.num_samples:,} samples against the test split"):
        metrics["sample_quality"], samples = measure_samples(model, datamodule, cfg.sample_quality, cfg.seed)
    with clock("figures"), SummaryWriter(str(target.tensorboard_dir)) as writer:
        if samples is not None:
            publish_samples(samples, Publisher(target.output_dir, writer, "analysis"))
        writer.add_text("analysis/summary", render_analysis_summary(metrics))
    return metrics


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
            "(vae_lightning/conf/analyze.yaml), e.g. 'analysis=[\"iwae.num_images=500\"]'."
        )
    try:
        check_ranges(analysis_config("<run>", overrides), ANALYZE_RANGES, "analyze.yaml")
    except ConfigError as error:
        raise ConfigError(f"In analysis=[...]: {error}") from None
