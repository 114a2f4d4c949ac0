"""The LightningModule: the β-VAE objective, its logging, and the optimiser.

It takes plain typed values and builds the network itself, so `model.beta=4` is a flat Hydra override and
`VAELitModule.load_from_checkpoint(path)` needs no arguments. A new model subclasses it and overrides `objective`
(the named terms of its loss), and where it needs to, `build_vae` and `condition`; docs/extending.md walks through it.
"""

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn

from vae_lightning.engine.batch_hooks import skip_empty_batch_hooks
from vae_lightning.engine.per_dim_mean import PerDimensionMean
from vae_lightning.errors import ConfigError, TrainingDivergedError
from vae_lightning.models.kl_schedules import KLSchedule
from vae_lightning.models.likelihoods import bits_per_dim, describe, make_likelihood
from vae_lightning.models.nets.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.objectives import gaussian_kl_per_dim

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
# The import paths of the classes that wrote a checkpoint, so analysis rebuilds the same model and data module.
CLASSES_KEY = "vae_lightning_classes"
# Who stepped the optimiser when a checkpoint was written: "manual" (`training_step`) or "automatic" (Lightning).
OPTIMISATION_KEY = "vae_lightning_optimisation"


def import_path(cls: type) -> str:
    """`module.ClassName`, what a checkpoint records so the class can be found again."""
    return f"{cls.__module__}.{cls.__qualname__}"


def require(condition: bool, key: str, value: object, allowed: str) -> None:
    """Refuse a bad constructor argument with the config key that sets it."""
    if not condition:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}.")


class VAELitModule(L.LightningModule):
    """β-VAE on images; logs `{stage}/loss|recon|kl|neg_elbo` in nats per image (and `{stage}/bits_per_dim` for a
    likelihood of 8-bit pixels) and keeps `kl_per_dim` per epoch."""

    # What the model's constructor takes from the data module (see `InMemoryDataModule.model_inputs`).
    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape",)
    # What each term of `objective` is, for the tables and plots of analysis and report.
    term_descriptions: ClassVar[dict[str, str]] = {
        "loss": "the optimised objective (nats/image)",
        "neg_elbo": "negative ELBO (nats/image)",
        "recon": "reconstruction term −log p(x|z) (nats/image; a likelihood only where `likelihood` says so)",
        "kl": "KL(q(z|x) ‖ p(z)), the rate (nats/image)",
        "kl_per_dim": "KL per latent dimension (nats/image)",
        "bits_per_dim": "negative ELBO as a bound on −log P of the 8-bit image, in bits per dimension",
    }

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        latent_dim: int = 32,
        channels: Sequence[int] | None = None,
        kernel_size: int = 4,
        hidden_dim: int = 256,
        likelihood: str = "bernoulli",
        gaussian_sigma: float = 0.1,
        learn_sigma: bool = False,
        dequantize: bool = False,
        num_mixtures: int = 5,
        beta: float = 1.0,
        kl_schedule: str = "constant",
        kl_warmup_steps: int = 0,
        capacity_max: float = 0.0,
        capacity_steps: int = 0,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        require(latent_dim >= 1, "model.latent_dim", latent_dim, "it must be an integer ≥ 1")
        require(channels is None or (len(channels) >= 1 and all(c >= 1 for c in channels)), "model.channels",
                channels if channels is None else list(channels),
                "it must be null (derived from the image size) or a non-empty list of positive channel counts, "
                "e.g. [32, 64]")
        require(kernel_size >= 2, "model.kernel_size", kernel_size, "it must be ≥ 2")
        require(hidden_dim >= 1, "model.hidden_dim", hidden_dim, "it must be ≥ 1")
        require(beta >= 0, "model.beta", beta, "β weights the KL term and must be ≥ 0")
        require(optimizer in OPTIMIZERS, "optimizer.name", optimizer, f"choose one of {sorted(OPTIMIZERS)}")
        require(lr > 0, "optimizer.lr", lr, "the learning rate must be > 0")
        require(weight_decay >= 0, "optimizer.weight_decay", weight_decay, "it must be ≥ 0")
        self.save_hyperparameters()
        # dequantize defaults to false here, not in conf/model/conv_vae.yaml, so a checkpoint written before the
        # option existed (a Gaussian on raw pixels) loads with the behaviour it was trained with.
        self.likelihood = make_likelihood(likelihood, gaussian_sigma, learn_sigma, dequantize, num_mixtures)
        self.vae = self.build_vae()
        self.kl_schedule = KLSchedule(kl_schedule, beta, kl_warmup_steps, capacity_max, capacity_steps)
        self.per_dimension_means = nn.ModuleDict()  # "{stage}_{term}" → running mean, filled by evaluation
        self._train_window: tuple[Tensor | float, int] = (0.0, 0)  # training sums since the last logger write
        self._trained_by: str | None = None  # "manual" | "automatic": who stepped the optimiser of a resumed run
        skip_empty_batch_hooks(self, L.LightningModule)

    def __setattr__(self, name: str, value: Any) -> None:
        """A plain value for an attribute that already holds one is stored directly.

        Lightning writes the module's `_current_fx_name` before and after each of its hook calls, about thirty times
        per training step, and `nn.Module.__setattr__` first tests each value against Parameter, Module and buffer
        (about 1 µs each time). Parameters, modules and tensors, and new names, still take that path.
        """
        if name in self.__dict__ and not isinstance(value, Tensor | nn.Module):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def build_vae(self) -> ConvVAE:
        """The network, from the saved hyper-parameters; a subclass adds its conditioning here."""
        h = self.hparams
        return ConvVAE(tuple(h.image_shape), h.latent_dim, h.channels, h.kernel_size, h.hidden_dim,
                       output_channels=self.decoder_channels)

    @property
    def decoder_channels(self) -> int:
        """Output channels of the decoder: what the likelihood needs per pixel (a logit, or mixture parameters)."""
        return self.likelihood.decoder_channels(self.hparams.image_shape[0])

    @property
    def conditional(self) -> bool:
        """Whether encoder and decoder take a condition vector made from the label (see `condition`)."""
        return False

    def condition(self, labels: Tensor | None) -> Tensor | None:
        """The vector that conditions encoder and decoder on `labels`; None for an unconditional model."""
        return None

    def forward(self, x: Tensor, labels: Tensor | None = None) -> VAEOutput:
        return self.vae(x, self.condition(labels))

    @torch.no_grad()
    def encode(self, x: Tensor, condition: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """μ and log σ² of q(z | x) (of q(z | x, c) for a conditional model, with c from `condition`)."""
        return self.vae.encoder(x, condition)

    @torch.no_grad()
    def decode_mean(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        """The decoder's mean image for each latent vector: what a reconstruction or sample looks like."""
        return self.likelihood.mean(self.vae.decoder(z, condition))

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        """The named terms of this model's loss on one batch, each a mean over its images; `loss` is optimised.

        This is the seam a new model overrides: the training, validation and test steps only log what it returns,
        and analysis averages it over a split. Scalars are logged as `{stage}/{name}`; a 1-d term (one value per
        latent dimension, such as `kl_per_dim`) is averaged over validation and test (`per_dimension_terms`). `step`
        is the optimiser step of a training batch, None for evaluation, where schedules take their final value.
        """
        return self.vae_terms(self(x, labels), x, step)

    def vae_terms(self, out: VAEOutput, x: Tensor, step: int | None) -> dict[str, Tensor]:
        """The β-VAE terms of a forward pass: loss = −log p(x | z) + β·KL under the KL schedule (Higgins et al.
        2017), with the negative ELBO beside it (and in bits/dim for a likelihood of 8-bit pixels); a subclass adds
        its own terms to these. The likelihood is evaluated on its `model_target` (x, or x dequantised)."""
        recon = self.likelihood.neg_log_likelihood(out.decoder_output, self.likelihood.model_target(x))
        kl_per_dim = gaussian_kl_per_dim(out.mu, out.log_var)
        kl = kl_per_dim.sum(1)
        terms = {"loss": (recon + self.kl_schedule.penalty(kl, step)).mean(), "recon": recon.mean(),
                 "kl": kl.mean(), "neg_elbo": (recon + kl).mean(), "kl_per_dim": kl_per_dim.mean(0)}
        if self.likelihood.discrete_8bit:
            num_dims = math.prod(x.shape[1:])
            terms["bits_per_dim"] = bits_per_dim(self.likelihood.discrete_nats(terms["neg_elbo"], num_dims), num_dims)
        return terms

    def describe_likelihood(self, data_is_binary: bool) -> dict[str, object]:
        """What the reconstruction term and the negative ELBO are on data that is (or is not) binary: a likelihood,
        or — a Bernoulli decoder on grey pixels — a reconstruction loss, not a likelihood (`likelihoods.describe`)."""
        return describe(self.likelihood, data_is_binary)

    def _say_what_the_reconstruction_term_is(self) -> None:
        """In TensorBoard: what the logged reconstruction term is on this run's data."""
        datamodule = self.trainer.datamodule
        if isinstance(self.logger, TensorBoardLogger) and datamodule is not None:
            quantity = self.describe_likelihood(datamodule.pixels_are_binary())["quantity"]
            self.logger.experiment.add_text("likelihood", f"`{self.hparams.likelihood}`: {quantity}")

    def schedule_values(self, step: int) -> dict[str, float]:
        """Training-time settings that change with the step, logged beside the loss (the KL weight and capacity)."""
        if self.kl_schedule.kind == "constant":
            return {}
        return {"kl_weight": self.kl_schedule.weight(step), "capacity": self.kl_schedule.capacity(step)}

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """A batch of tensors moved with one `.to` each (no copy where it is on `device` already); Lightning's
        default walks any collection, about 40 µs of host time per step for two tensors."""
        if isinstance(batch, tuple | list) and all(isinstance(item, Tensor) for item in batch):
            non_blocking = device.type not in ("cpu", "mps")  # as Lightning: asynchronous copies only to a GPU
            return type(batch)(item.to(device, non_blocking=non_blocking) for item in batch)
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, labels = batch
        terms = self.objective(x, labels, self.global_step)
        self._log_training_terms(terms, len(x), self.global_step)
        if not self.automatic_optimization:
            optimizer = self.optimizers()
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(terms["loss"])
            optimizer.step()
        return terms["loss"]

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self._trained_by = None  # set by on_load_checkpoint when the fit resumes a run

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A run resumes with whoever stepped its optimiser before: Lightning counts the steps of each separately.
        A checkpoint from before this choice existed was trained by Lightning's loop."""
        self._trained_by = checkpoint.get(OPTIMISATION_KEY, "automatic")

    def on_fit_start(self) -> None:
        self._choose_who_steps()  # the optimisers and schedulers exist from here, and a resumed checkpoint is read
        self._say_what_the_reconstruction_term_is()

    def on_train_start(self) -> None:
        self._choose_who_steps()  # again for strategies that read the checkpoint after on_fit_start

    def _choose_who_steps(self) -> None:
        """Train with the optimiser step written out in `training_step` where nothing needs Lightning's closure.

        Lightning's automatic optimisation wraps every step in a closure passed through its strategy and precision
        plugin: about 150 Python calls per step more than this (benchmarks/README.md). The step in `training_step`
        does the same arithmetic (zero the gradients, backward, step) in the same order, so a run trains to the same
        weights either way. Gradient clipping or accumulation (`+trainer.gradient_clip_val`,
        `+trainer.accumulate_grad_batches`), a learning-rate scheduler, several optimisers, a subclass's own
        `training_step`, or resuming a run that Lightning's loop trained keep Lightning's loop.
        """
        if type(self).training_step is not VAELitModule.training_step:
            return  # a subclass with its own training step decides (FactorVAE steps two optimisers itself)
        trainer = self.trainer
        needs_lightning = (bool(trainer.gradient_clip_val) or trainer.accumulate_grad_batches != 1
                           or bool(trainer.lr_scheduler_configs) or len(trainer.optimizers) > 1)
        trained_by = self._trained_by
        if trained_by == "manual" and needs_lightning:
            raise ConfigError(
                "This run was trained with the model stepping its own optimiser, and the settings given now "
                "(gradient clipping, gradient accumulation, a learning-rate scheduler or several optimisers) need "
                "Lightning's optimisation loop, which counts steps separately, so the run cannot continue with them. "
                "Resume it without +trainer.gradient_clip_val and +trainer.accumulate_grad_batches, or start a new run "
                "with them."
            )
        self.automatic_optimization = needs_lightning or trained_by == "automatic"

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_evaluation_terms(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_evaluation_terms(batch, "test")

    def _log_evaluation_terms(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        x, labels = batch
        terms = self.objective(x, labels, None)
        scalars = {f"{stage}/{name}": value for name, value in terms.items() if value.ndim == 0}
        self.log_dict(scalars, on_epoch=True, batch_size=len(x), sync_dist=True)
        for name, value in terms.items():
            if value.ndim == 1:
                self._per_dimension_mean(stage, name, value).update(value.detach(), len(x))

    def _per_dimension_mean(self, stage: str, name: str, like: Tensor) -> PerDimensionMean:
        """The running mean of a per-dimension term, made on first use so any objective's 1-d terms are kept."""
        key = f"{stage}_{name}"
        if key not in self.per_dimension_means:
            self.per_dimension_means[key] = PerDimensionMean(len(like)).to(like.device)
        return self.per_dimension_means[key]

    def _log_training_terms(self, terms: dict[str, Tensor], batch_size: int, step: int) -> None:
        """Sum the scalar training terms on the device and log them once per logger write, weighted by the images
        covered.

        A `self.log` call costs Lightning a walk over its metric's state, so four of them every step were most of the
        framework's host time (benchmarks/step_overhead.py). Epoch means equal those of logging every step, and
        `train/*_step` is the mean since the previous write. That one host read per interval is also where a
        non-finite loss is caught: at the latest on the epoch's last batch, before validation and checkpoints.
        """
        names = [name for name, value in terms.items() if value.ndim == 0]
        sums = torch.stack([terms[name].detach() for name in names]) * batch_size
        window_sums, window_images = self._train_window
        window_sums, window_images = window_sums + sums, window_images + batch_size
        if not self._logger_writes_after(step):
            self._train_window = (window_sums, window_images)
            return
        self._train_window = (0.0, 0)
        means = window_sums / window_images
        if not torch.isfinite(means).all():
            raise TrainingDivergedError(self._divergence_message(means[names.index("loss")]))
        self.log_dict({f"train/{name}": mean for name, mean in zip(names, means.unbind(), strict=True)},
                      on_step=True, on_epoch=True, batch_size=window_images)
        if schedule := self.schedule_values(step):
            self.log_dict({f"train/{name}": value for name, value in schedule.items()}, on_step=True, on_epoch=False)

    def _logger_writes_after(self, step: int) -> bool:
        """Whether Lightning writes step metrics after this training batch: every `log_every_n_steps` optimiser
        steps, on the epoch's last batch, and on the run's last step."""
        trainer = self.trainer
        done = step + 1
        return (done % trainer.log_every_n_steps == 0 or trainer.is_last_batch or done == trainer.max_steps
                or trainer.should_stop)

    def _divergence_message(self, loss: Tensor) -> str:
        checkpoint = self.trainer.checkpoint_callback
        last = checkpoint.last_model_path if checkpoint is not None else ""
        kept = (f"The last good weights are kept in {last} (checkpoints are only written at the end of a finite "
                "epoch)" if last else "No checkpoint had been written yet")
        return (
            f"Training stopped at epoch {self.current_epoch}, step {self.global_step}: the loss became "
            f"{loss.item()} (optimizer.lr={self.hparams.lr}, model.beta={self.hparams.beta}). {kept}. Lower "
            "optimizer.lr, add gradient clipping with +trainer.gradient_clip_val=1.0, or check the data for "
            "non-finite pixels; then start again, or continue the run with resume=<run dir>."
        )

    def on_train_epoch_start(self) -> None:
        self._train_window = (0.0, 0)  # an interrupted fit must not leave its sums to the next one

    def on_validation_epoch_start(self) -> None:
        self._reset_per_dimension_means("val")

    def on_test_epoch_start(self) -> None:
        self._reset_per_dimension_means("test")

    def _reset_per_dimension_means(self, stage: str) -> None:
        for key, mean in self.per_dimension_means.items():
            if key.startswith(f"{stage}_"):
                mean.reset()

    def per_dimension_terms(self, stage: str) -> dict[str, Tensor]:
        """Every 1-d term's mean over the current `stage` epoch, by name; drawn as one chart per term
        (callbacks.PerDimensionChart) rather than logged as one scalar per dimension."""
        return {key.removeprefix(f"{stage}_"): mean.compute()  # already reduced over processes by torchmetrics
                for key, mean in self.per_dimension_means.items() if key.startswith(f"{stage}_")}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        datamodule = self.trainer.datamodule
        checkpoint[CLASSES_KEY] = {"model": import_path(type(self)),
                                   "datamodule": import_path(type(datamodule)) if datamodule is not None else None}
        checkpoint[OPTIMISATION_KEY] = "automatic" if self.automatic_optimization else "manual"

    def configure_optimizers(self) -> torch.optim.Optimizer:
        optimizer_class = OPTIMIZERS[self.hparams.optimizer]
        return optimizer_class(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
