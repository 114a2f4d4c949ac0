"""The LightningModule: the β-VAE objective, its logging, and the optimiser.

It takes plain typed values and builds the network itself, so `model.beta=4` is a flat Hydra override and
`VAELitModule.load_from_checkpoint(path)` needs no arguments. Variants (conditional, classifier head) subclass it and
change only `build_vae`, `condition` and `auxiliary_loss`.
"""

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from vae_lightning.errors import ConfigError, TrainingDivergedError
from vae_lightning.models.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.kl_schedules import KLSchedule
from vae_lightning.models.objectives import gaussian_kl_per_dim, make_likelihood
from vae_lightning.models.per_dim_mean import PerDimensionMean

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
EVAL_STAGES = ("val", "test")
# Which classes wrote a checkpoint, so analysis rebuilds the same model and data module by name.
CLASSES_KEY = "vae_lightning_classes"


def require(condition: bool, key: str, value: object, allowed: str) -> None:
    """Refuse a bad constructor argument with the config key that sets it."""
    if not condition:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}.")


class VAELitModule(L.LightningModule):
    """β-VAE on images; logs `{stage}/loss|recon|kl|neg_elbo` in nats per image and `{stage}/kl_per_dim/NN`."""

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
        self.vae = self.build_vae()
        self.likelihood = make_likelihood(likelihood, gaussian_sigma, learn_sigma)
        self.kl_schedule = KLSchedule(kl_schedule, beta, kl_warmup_steps, capacity_max, capacity_steps)
        self.kl_per_dim = nn.ModuleDict({stage: PerDimensionMean(latent_dim) for stage in EVAL_STAGES})
        self._train_window: tuple[Tensor | float, int] = (0.0, 0)  # training sums since the last logger write

    def build_vae(self) -> ConvVAE:
        """The network, from the saved hyper-parameters; a subclass adds its conditioning here."""
        h = self.hparams
        return ConvVAE(tuple(h.image_shape), h.latent_dim, h.channels, h.kernel_size, h.hidden_dim)

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

    def elbo_terms(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """−log p(x | z) per image (B,) and KL(q(z | x) ‖ p(z)) per image and dimension (B, D), in nats."""
        return self._elbo_terms(self(x, labels), x)

    def _elbo_terms(self, out: VAEOutput, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.likelihood.neg_log_likelihood(out.logits, x), gaussian_kl_per_dim(out.mu, out.log_var)

    def auxiliary_loss(self, out: VAEOutput, labels: Tensor, stage: str) -> Tensor | float:
        """A term added to the β-VAE loss (a subclass's supervised head logs and returns it); none here."""
        return 0.0

    def _shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        x, labels = batch
        out = self(x, labels)
        recon, kl_per_dim = self._elbo_terms(out, x)
        kl = kl_per_dim.sum(1)
        is_train = stage == "train"
        step = self.global_step if is_train else None  # evaluation uses the schedule's final value
        loss = (recon + self.kl_schedule.penalty(kl, step)).mean() + self.auxiliary_loss(out, labels, stage)
        terms = {f"{stage}/loss": loss, f"{stage}/recon": recon.mean(), f"{stage}/kl": kl.mean(),
                 f"{stage}/neg_elbo": (recon + kl).mean()}
        if not is_train:
            self.log_dict(terms, on_epoch=True, batch_size=x.shape[0], sync_dist=True)
            self.kl_per_dim[stage].update(kl_per_dim)
            return loss
        self._log_training_terms(terms, x.shape[0], step)
        return loss

    def _log_training_terms(self, terms: dict[str, Tensor], batch_size: int, step: int) -> None:
        """Sum the training terms on the device and log them once per logger write, weighted by the images covered.

        A `self.log` call costs Lightning a walk over its metric's state, so four of them every step were most of the
        framework's host time (benchmarks/step_overhead.py). Epoch means equal those of logging every step, and
        `train/*_step` is the mean since the previous write. That one host read per interval is also where a
        non-finite loss is caught: at the latest on the epoch's last batch, before validation and checkpoints.
        """
        sums = torch.stack([term.detach() for term in terms.values()]) * batch_size
        window_sums, window_images = self._train_window
        window_sums, window_images = window_sums + sums, window_images + batch_size
        trainer = self._trainer  # None when called outside a Trainer: then every step is checked (and not logged)
        due = (trainer is None or trainer._logger_connector.should_update_logs
               or trainer.is_last_batch or self.global_step + 1 == trainer.max_steps)
        if not due:
            self._train_window = (window_sums, window_images)
            return
        self._train_window = (0.0, 0)
        means = window_sums / window_images
        if not torch.isfinite(means).all():
            raise TrainingDivergedError(self._divergence_message(means[0]))
        self.log_dict(dict(zip(terms, means.unbind(), strict=True)), on_step=True, on_epoch=True,
                      batch_size=window_images)
        if self.kl_schedule.kind != "constant":
            self.log_dict({"train/kl_weight": self.kl_schedule.weight(step),
                           "train/capacity": self.kl_schedule.capacity(step)}, on_step=True, on_epoch=False)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")

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

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "test")

    def on_train_epoch_start(self) -> None:
        self._train_window = (0.0, 0)  # an interrupted fit must not leave its sums to the next one

    def on_validation_epoch_start(self) -> None:
        self.kl_per_dim["val"].reset()

    def on_test_epoch_start(self) -> None:
        self.kl_per_dim["test"].reset()

    def on_validation_epoch_end(self) -> None:
        self._log_kl_per_dim("val")

    def on_test_epoch_end(self) -> None:
        self._log_kl_per_dim("test")

    def _log_kl_per_dim(self, stage: str) -> None:
        values = self.kl_per_dim[stage].compute()  # already reduced over processes by torchmetrics
        self.log_dict({f"{stage}/kl_per_dim/{d:02d}": v for d, v in enumerate(values)}, sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        datamodule = self.trainer.datamodule
        checkpoint[CLASSES_KEY] = {"model": type(self).__name__,
                                   "datamodule": type(datamodule).__name__ if datamodule is not None else None}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        optimizer_class = OPTIMIZERS[self.hparams.optimizer]
        return optimizer_class(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
