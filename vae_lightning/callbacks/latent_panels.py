"""TensorBoard image panels, refreshed every validation epoch from fixed inputs so epochs compare like for like."""

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor

from vae_lightning.analysis.grids import display_grid
from vae_lightning.analysis.traversal import most_active_dims, traversal_latents


class LatentPanels(L.Callback):
    """Logs reconstructions, prior samples and a latent traversal of the most active dimensions.

    The validation images and the prior draws are fixed at the first epoch (seeded), so a change between panels is a
    change in the model, not in its inputs. Traversal rows are ordered by the validation epoch's KL per dimension.
    A conditional model's samples are a class × draw grid: each column decodes one z under every class, so what z
    carries (style) and what the label carries (class) separate by eye.
    """

    def __init__(self, num_images: int = 16, num_samples: int = 64, traversal_dims: int = 8,
                 traversal_steps: int = 11, traversal_range: float = 3.0, display_scale: int = 3,
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
        self._prior_z: Tensor | None = None
        self._prior_labels: Tensor | None = None

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loggers = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        if trainer.sanity_checking or not loggers or not trainer.is_global_zero:
            return
        if self._images is None:
            self._images, self._labels = trainer.datamodule.fixed_batch("val", self.num_images)
            generator = torch.Generator().manual_seed(self.seed)
            self._prior_z = torch.randn(self.num_samples, pl_module.hparams.latent_dim, generator=generator)
            if pl_module.conditional:
                self._prior_z, self._prior_labels = class_by_draw(self._prior_z, len(trainer.datamodule.class_names))
        device = pl_module.device
        panels, dims = self.render(pl_module, self._images.to(device), self._labels.to(device),
                                   self._prior_z.to(device), _to(self._prior_labels, device))
        rows = ", ".join(f"z{d}" for d in dims)
        caption = f"Rows, most active first by validation KL: {rows}. Columns: μ ± {self.traversal_range:g} prior σ."
        for logger in loggers:
            for tag, image in panels.items():
                logger.experiment.add_image(tag, image, global_step=trainer.global_step)
            logger.experiment.add_text("images/latent_traversal_rows", caption, global_step=trainer.global_step)

    def render(self, pl_module: L.LightningModule, images: Tensor, labels: Tensor, prior_z: Tensor,
               prior_labels: Tensor | None = None) -> tuple[dict[str, Tensor], list[int]]:
        """The three panels as (C, H, W) grids keyed by TensorBoard tag, and the traversed dimensions in row order.

        `prior_labels` are the classes a conditional model decodes `prior_z` under (see `class_by_draw`).
        """
        was_training = pl_module.training
        pl_module.eval()
        condition = pl_module.condition(labels)
        mu, _ = pl_module.encode(images, condition)
        reconstructions = pl_module.decode_mean(mu, condition)
        samples = pl_module.decode_mean(prior_z, pl_module.condition(prior_labels))
        dims = most_active_dims(pl_module.kl_per_dim["val"].compute(), self.traversal_dims)
        offsets = torch.linspace(-self.traversal_range, self.traversal_range, self.traversal_steps)
        latents = traversal_latents(mu[0], dims, offsets).flatten(0, 1)
        traversal = pl_module.decode_mean(latents, pl_module.condition(labels[:1].expand(len(latents))))
        pl_module.train(was_training)
        scale = self.display_scale
        draws_per_row = len(samples) // len(prior_labels.unique()) if prior_labels is not None else len(samples) ** 0.5
        panels = {
            "images/reconstructions": display_grid(torch.cat([images, reconstructions]), nrow=len(images), scale=scale),
            "images/prior_samples": display_grid(samples, nrow=max(1, int(draws_per_row)), scale=scale),
            "images/latent_traversal": display_grid(traversal, nrow=self.traversal_steps, scale=scale),
        }
        return panels, dims


def class_by_draw(prior_z: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Latents and labels for a class × draw grid from `prior_z`: row c decodes the same draws under class c."""
    draws = max(1, len(prior_z) // num_classes)
    return prior_z[:draws].repeat(num_classes, 1), torch.arange(num_classes).repeat_interleave(draws)


def _to(tensor: Tensor | None, device: torch.device) -> Tensor | None:
    return tensor.to(device) if tensor is not None else None
