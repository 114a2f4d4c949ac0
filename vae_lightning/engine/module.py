"""The training engine: the one LightningModule, driving any `GenerativeModel` (models/contract.py).

It owns what every model shares and none should write again: building the model and its optimisers from config,
logging each term of the objective as `{stage}/<term>`, the per-dimension means of evaluation, stopping a run whose
loss stops being finite, and what a checkpoint records so the run can be rebuilt with no arguments. The model's
maths stays in the model.

One optimised term trains through Lightning's own loop, so every Trainer setting (gradient clipping, accumulation,
schedulers) applies as documented. Several (FactorVAE, a GAN) are stepped here one after another on the same batch,
each with its optimiser; their schedulers, if any, step once per epoch.
"""

import contextlib
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn
from torchmetrics.aggregation import SumMetric

from vae_lightning.engine.building import build, model_class
from vae_lightning.engine.checkpoint_schema import (
    CLASSES_KEY,
    DATA_KEY,
    FORMAT_KEY,
    FORMAT_VERSION,
    PRECISION_KEY,
    import_path,
)
from vae_lightning.engine.per_dim_mean import PerDimensionMean
from vae_lightning.engine.training_log import TrainingLog
from vae_lightning.errors import ConfigError, TrainingDivergedError
from vae_lightning.models.contract import GenerativeModel

# The generator state every test starts from, whatever the run's seed and whatever ran before it.
TEST_NOISE_SEED = 0


class TrainingEngine(L.LightningModule):
    """Trains `model` (a config node with `_target_`, completed with what the data supplies) with `optimizer` (a
    `_partial_` torch.optim node) and an optional `scheduler` (a `_partial_` torch.optim.lr_scheduler node)."""

    def __init__(self, model: dict[str, Any], optimizer: dict[str, Any],
                 scheduler: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model: GenerativeModel = build(model)
        self.optimised_terms = [loss.term for loss in self.model.optimised_losses()]
        self.automatic_optimization = len(self.optimised_terms) == 1
        self.per_dimension_means = nn.ModuleDict()  # "{stage}_{term}" → running mean, filled by evaluation
        self.tested_images = SumMetric()  # over the current test epoch and every process: limit_test_batches may cut it
        self.training_log = TrainingLog()
        self._outside_test = contextlib.ExitStack()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor | None:
        x, labels = batch
        if self.automatic_optimization:
            terms = self.model.objective(x, labels, self.global_step)
            self._log_training_terms(terms, len(x), self.global_step)
            return terms[self.optimised_terms[0]]
        optimizers = self.optimizers()
        step = self.global_step // len(optimizers)  # Lightning counts every optimiser's step
        terms = self.model.objective(x, labels, step)
        self._log_training_terms(terms, len(x), step)
        for optimizer, term in zip(optimizers, self.optimised_terms, strict=True):
            optimizer.zero_grad(set_to_none=True)  # also drops what an earlier term's backward left here
            self.manual_backward(terms[term])
            optimizer.step()
        return None

    def on_train_epoch_end(self) -> None:
        """With several optimised losses the engine steps the optimisers, so it steps the scheduler too."""
        if not self.automatic_optimization and (scheduler := self.lr_schedulers()) is not None:
            scheduler.step()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_evaluation_terms(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_evaluation_terms(batch, "test")

    def _log_training_terms(self, terms: dict[str, Tensor], batch_size: int, step: int) -> None:
        """The scalar terms, logged as their mean since the logger's last write (engine/training_log.py)."""
        self.training_log.add({name: value for name, value in terms.items() if value.ndim == 0}, batch_size)
        if not self.training_log.due(self.trainer, step):
            return
        means, images = self.training_log.flush()
        if not torch.stack(list(means.values())).isfinite().all():
            raise TrainingDivergedError(self._divergence_message(means))
        self.log_dict({f"train/{name}": mean for name, mean in means.items()}, on_step=True, on_epoch=True,
                      batch_size=images)
        if schedule := self.model.schedule_values(step):
            self.log_dict({f"train/{name}": value for name, value in schedule.items()}, on_step=True, on_epoch=False)

    def on_train_epoch_start(self) -> None:
        self.training_log.reset()

    def _log_evaluation_terms(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        x, labels = batch
        terms = self.model.objective(x, labels, None)
        scalars = {f"{stage}/{name}": value for name, value in terms.items() if value.ndim == 0}
        self.log_dict(scalars, on_epoch=True, batch_size=len(x), sync_dist=True)
        for name, value in terms.items():
            if value.ndim == 1:
                self._per_dimension_mean(stage, name, value).update(value.detach(), len(x))
        if stage == "test":
            self.tested_images.update(len(x))

    def _per_dimension_mean(self, stage: str, name: str, like: Tensor) -> PerDimensionMean:
        """The running mean of a per-dimension term, made on first use so any objective's 1-d terms are kept."""
        key = f"{stage}_{name}"
        if key not in self.per_dimension_means:
            self.per_dimension_means[key] = PerDimensionMean(len(like)).to(like.device)
        return self.per_dimension_means[key]

    def per_dimension_terms(self, stage: str) -> dict[str, Tensor]:
        """Every 1-d term's mean over the current `stage` epoch, by name; drawn as one chart per term
        (callbacks.PerDimensionChart) rather than logged as one scalar per dimension."""
        return {key.removeprefix(f"{stage}_"): mean.compute()  # already reduced over processes by torchmetrics
                for key, mean in self.per_dimension_means.items() if key.startswith(f"{stage}_")}

    def on_validation_epoch_start(self) -> None:
        self._reset_per_dimension_means("val")

    def on_test_epoch_start(self) -> None:
        self._reset_per_dimension_means("test")
        self.tested_images.reset()

    def num_tested_images(self) -> int:
        """How many images the last test epoch evaluated, summed over processes: the whole split unless
        trainer.limit_test_batches cut it short."""
        return int(self.tested_images.compute())

    def on_test_start(self) -> None:
        """The test draws its noise (the reparameterisation samples) from a generator seeded with `TEST_NOISE_SEED`,
        not from whatever training and validation left in it: a run resumed after a kill in its test step has not
        replayed those, and every run of a sweep is then scored with the same draws. The caller's random state is
        put back after the test."""
        self._outside_test.enter_context(torch.random.fork_rng(devices=_cuda_devices()))
        torch.manual_seed(TEST_NOISE_SEED)

    def on_test_end(self) -> None:
        self._outside_test.close()

    def _reset_per_dimension_means(self, stage: str) -> None:
        for key, mean in self.per_dimension_means.items():
            if key.startswith(f"{stage}_"):
                mean.reset()

    def _divergence_message(self, means: dict[str, Tensor]) -> str:
        broken = {name: value.item() for name, value in means.items() if not value.isfinite()}
        first = broken.get(self.optimised_terms[0], next(iter(broken.values())))
        listed = ", ".join(f"train/{name}={value}" for name, value in broken.items())
        checkpoint = self.trainer.checkpoint_callback
        last = checkpoint.last_model_path if checkpoint is not None else ""
        best = checkpoint.best_model_path if checkpoint is not None else ""
        kept = f"The last good weights are kept in {last}" if last else "No checkpoint had been written yet"
        if best and best != last:
            kept += f", and the best epoch's in {best} (analyze it with checkpoint=best)"
        return (
            f"Training stopped at epoch {self.current_epoch}, step {self.global_step}: the loss became {first} "
            f"({listed}; optimizer.lr={self.hparams.optimizer.get('lr')}). {kept}. Lower optimizer.lr, add gradient "
            "clipping with +trainer.gradient_clip_val=1.0, or check the data for non-finite pixels; then start "
            "again, or continue the run with resume=<run dir>."
        )

    def on_fit_start(self) -> None:
        datamodule = self.trainer.datamodule
        if datamodule is not None and hasattr(datamodule, "num_images"):
            self.model.fit_to_data(datamodule.num_images("train"))
        if isinstance(self.logger, TensorBoardLogger) and hasattr(self.model, "describe_likelihood"):
            quantity = self.model.describe_likelihood(datamodule.pixels_are_binary())["quantity"]
            self.logger.experiment.add_text("likelihood", f"`{self.model.hparams.likelihood}`: {quantity}")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        datamodule = self.trainer.datamodule
        checkpoint[FORMAT_KEY] = FORMAT_VERSION
        checkpoint[CLASSES_KEY] = {"model": import_path(type(self.model)),
                                   "datamodule": import_path(type(datamodule)) if datamodule is not None else None}
        checkpoint[PRECISION_KEY] = str(self.trainer.precision)
        if hasattr(datamodule, "fingerprints"):
            checkpoint[DATA_KEY] = datamodule.fingerprints()

    def configure_optimizers(self) -> Any:
        losses = self.model.optimised_losses()
        optimizers = [(loss.optimizer or build(self.hparams.optimizer))(loss.parameters) for loss in losses]
        if self.hparams.scheduler is None:
            return optimizers
        scheduler = {"scheduler": build(self.hparams.scheduler)(optimizers[0]), "interval": "epoch",
                     "monitor": "val/loss"}
        return [optimizers, [scheduler]] if len(optimizers) > 1 else {"optimizer": optimizers[0],
                                                                      "lr_scheduler": scheduler}


def _cuda_devices() -> list[int]:
    """Every visible GPU, whose generators the test seeds and restores with the CPU's."""
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


def build_engine(model: DictConfig, optimizer: DictConfig, scheduler: DictConfig | None,
                 datamodule: L.LightningDataModule) -> TrainingEngine:
    """The training engine for a model config, completed with what the model `needs_from_data`."""
    available = datamodule.model_inputs()
    needs = model_class(model).needs_from_data
    missing = [name for name in needs if name not in available]
    if missing:
        raise ConfigError(
            f"model={model._target_} needs {', '.join(missing)} from its data, which data={datamodule.hparams.name} "
            f"does not provide (it provides {', '.join(available)}). Pick data this model can use, or another model."
        )
    from_data = {name: _plain(available[name]()) for name in needs}
    engine = TrainingEngine(model={**_container(model), **from_data}, optimizer=_container(optimizer),
                            scheduler=_container(scheduler) if scheduler is not None else None)
    labeled_fraction = datamodule.hparams.get("labeled_fraction", 1.0)
    if getattr(engine.model, "conditional", False) and labeled_fraction < 1:
        raise ConfigError(
            f"A conditional model needs the label of every training image, but data.labeled_fraction="
            f"{labeled_fraction} hides the others. Use data.labeled_fraction=1, or model=vae_classifier for the "
            "semi-supervised setting."
        )
    return engine


def _container(node: DictConfig) -> dict[str, Any]:
    """A config node as the plain dict a checkpoint stores and `build` reads again."""
    return OmegaConf.to_container(node, resolve=True)


def _plain(value: Any) -> Any:
    """Tuples as lists, so what the data supplies is stored as YAML and JSON store it."""
    return list(value) if isinstance(value, tuple) else value


# The default optimiser node (conf/optimizer/adam.yaml), for engines built in Python rather than from config.
DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3, "weight_decay": 0.0, "fused": True}


def engine_for(model: type[GenerativeModel], lr: float = 1e-3, **settings: Any) -> TrainingEngine:
    """An engine training `model(**settings)` with Adam at `lr`: the Python counterpart of
    `python -m vae_lightning.train model=... optimizer.lr=...`, for scripts, notebooks and benchmarks."""
    return TrainingEngine(model={"_target_": import_path(model), **settings},
                          optimizer={**DEFAULT_OPTIMIZER, "lr": lr})
