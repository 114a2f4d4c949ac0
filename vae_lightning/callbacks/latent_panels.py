"""TensorBoard image panels, refreshed every validation epoch from fixed inputs so epochs compare like for like."""

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor

from vae_lightning.analysis import decoding
from vae_lightning.analysis.grids import display_grid
from vae_lightning.analysis.plots import card_image, traversal_grid
from vae_lightning.analysis.traversal import most_active_dims
from vae_lightning.errors import ConfigError
from vae_lightning.models.contract import GenerativeModel
from vae_lightning.models.vae import VAE

# Every model's samples under one tag, so TensorBoard's image card shows the runs of a VAE, a GAN and a diffusion
# model side by side.
SAMPLES_TAG = "images/samples"


class LatentPanels(L.Callback):
    """Logs reconstructions, prior samples and a latent traversal of the most active dimensions (for a model
    without an encoder, its samples only).

    The validation images, the prior draws and the traversal's rows (the most active dimensions by KL after the
    first validation epoch) are fixed at the first epoch, so a change between panels is a change in the model, not
    in its inputs, and the step slider compares like with like. The rows are saved in the checkpoints, so a resumed
    run keeps them; the images and draws follow from the data and the seed. Each traversal row is labelled with its
    dimension and that epoch's KL, each column with its offset in prior σ; the μ column is outlined under the base
    image. The traversal is drawn for a TensorBoard card (`card_image`): its labels read at card size without "Show
    actual image size", and its 7 default columns leave each image cell about 40 px wide there.
    A conditional model's samples are a class × draw grid (see `vae_lightning.analysis.decoding`).
    """

    def __init__(self, num_images: int = 16, num_samples: int = 64, traversal_dims: int = 8,
                 traversal_steps: int = 7, traversal_range: float = 3.0, display_scale: int = 3,
                 seed: int = 0) -> None:
        self.num_images = num_images
        self.num_samples = num_samples
        self.traversal_dims = traversal_dims
        self.traversal_range = traversal_range
        self.traversal_steps = traversal_steps
        self.display_scale = display_scale
        self.seed = seed
        self._images: Tensor | None = None
        self._labels: Tensor | None = None
        self._dims: list[int] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"traversal_dims": self._dims}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._dims = state_dict.get("traversal_dims")

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Refuse a validation split smaller than the panel before the first epoch, not when it ends (a model
        without an encoder shows samples only, and needs no validation images)."""
        if not isinstance(pl_module.model, VAE):
            return
        if stage == "fit" and (available := trainer.datamodule.num_images("val")) < self.num_images:
            raise ConfigError(
                f"callbacks.latent_panels.num_images={self.num_images} is more than the {available} validation "
                "image(s) this data gives. Lower it, e.g. callbacks.latent_panels.num_images="
                f"{max(available, 1)}, or use more images (or a larger data.val_fraction)."
            )

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        model = pl_module.model
        kl_per_dim = pl_module.per_dimension_terms("val").get("kl_per_dim")  # on every process: a reduction
        loggers = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        if not loggers or not trainer.is_global_zero:
            return
        if not isinstance(model, VAE):  # a model without an encoder (a GAN, a diffusion model): its samples only
            panels = {SAMPLES_TAG: self.samples_panel(model)} if hasattr(model, "sample") else {}
            self._log(loggers, panels, trainer.global_step)
            return
        kl_per_dim = kl_per_dim.cpu()
        if self._images is None:
            self._images, self._labels = trainer.datamodule.fixed_batch("val", self.num_images)
        # Drawn afresh from the same seed each epoch: a learned prior (the VampPrior's) moves as it trains.
        prior_z = model.prior_sample(self.num_samples, torch.Generator().manual_seed(self.seed)).cpu()
        if self._dims is None:
            self._dims = most_active_dims(kl_per_dim, self.traversal_dims)
        panels = self.render(model, self._images, self._labels, prior_z, kl_per_dim,
                             len(trainer.datamodule.class_names), self._dims, trainer.current_epoch)
        self._log(loggers, panels, trainer.global_step)

    @staticmethod
    def _log(loggers: list[TensorBoardLogger], panels: dict[str, Tensor], step: int) -> None:
        for logger in loggers:
            for tag, image in panels.items():
                logger.experiment.add_image(tag, image, global_step=step)

    def samples_panel(self, model: GenerativeModel) -> Tensor:
        """`num_samples` draws from the same seed at every epoch, as a grid."""
        was_training = model.training
        model.eval()
        with torch.no_grad():
            samples = model.sample(self.num_samples, generator=torch.Generator().manual_seed(self.seed)).cpu()
        model.train(was_training)
        return display_grid(samples.float().clamp(0, 1), nrow=max(1, int(len(samples) ** 0.5)),
                            scale=self.display_scale)

    def render(self, model: VAE, images: Tensor, labels: Tensor, prior_z: Tensor,
               kl_per_dim: Tensor, num_classes: int, dims: list[int], epoch: int) -> dict[str, Tensor]:
        """The three panels as (C, H, W) images keyed by TensorBoard tag; the traversal is drawn along `dims`."""
        was_training = model.training
        model.eval()
        mu = decoding.encode_means(model, images, labels)
        reconstructions = decoding.decode(model, mu, labels)
        draws = max(1, len(prior_z) // num_classes) if model.conditional else len(prior_z)
        samples = decoding.prior_samples(model, prior_z[:draws], range(num_classes))
        offsets = torch.linspace(-self.traversal_range, self.traversal_range, self.traversal_steps)
        traversal = decoding.traverse(model, mu[0], dims, offsets, labels[0])
        model.train(was_training)
        scale = self.display_scale
        per_row = samples.shape[1] if model.conditional else max(1, int(len(prior_z) ** 0.5))
        panels = {
            "images/reconstructions": display_grid(torch.cat([images, reconstructions]), nrow=len(images), scale=scale),
            SAMPLES_TAG: display_grid(samples.flatten(0, 1), nrow=per_row, scale=scale),
            "images/latent_traversal": card_image(traversal_grid(
                traversal, dims, kl_per_dim, torch.ones(len(kl_per_dim), dtype=torch.bool), offsets,
                f"Epoch {epoch + 1}: one dimension per row around a validation image's μ (validation KL, nats)",
                base_image=images[0])),
        }
        return panels
