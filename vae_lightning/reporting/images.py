"""Pictures that need the trained models: traversals, prior samples and reconstructions of every value of the sweep's
axis (every β of a β sweep) side by side.

Every value gets the same inputs — the first test images, and prior draws z ~ N(0, I) from the report's seed — so what
differs between blocks comes from the axis alone; a conditional model decodes them by
`vae_lightning.analysis.decoding`'s rule. One run stands for each value: its finished run with the lowest seed.
"""

import dataclasses

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from omegaconf import DictConfig
from torch import Tensor

from vae_lightning.analysis import decoding
from vae_lightning.analysis.plots import card_image, figure_to_image_tensor, image_figure, show_images, traversal_grid
from vae_lightning.analysis.traversal import most_active_dims
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import FINISHED, Run
from vae_lightning.runs.loading import open_run

GAP_PIXELS = 16


@dataclasses.dataclass(frozen=True)
class DecodedRun:
    """What one axis value's model makes of the shared inputs; images (..., C, H, W) in [0, 1], on the CPU."""

    title: str
    inputs: Tensor  # the first test images, shared by every axis value
    reconstructions: Tensor
    samples: Tensor  # decoded from the report's fixed prior draws
    traversal: Tensor  # (len(dims), steps, C, H, W) around the first test image's μ
    dims: list[int]  # the run's most informative dimensions by test KL
    kl_per_dim: Tensor
    active: Tensor  # bool per dimension, from the run's analysis


def representative_runs(runs: list[Run]) -> list[Run]:
    """The finished run with the lowest seed of each axis value, in increasing value."""
    chosen: dict[float, Run] = {}
    for run in sorted((r for r in runs if r.status == FINISHED and r.axis_value is not None),
                      key=lambda r: r.seed or 0):
        chosen.setdefault(run.axis_value, run)
    return [chosen[value] for value in sorted(chosen)]


def decode_run(run: Run, axis: SweepAxis, offsets: Tensor, cfg: DictConfig) -> DecodedRun:
    """Restore `run`'s checkpoint and decode the report's shared inputs with it; titled by its value of `axis`."""
    _, model, datamodule = open_run(run.path, cfg.device, cfg.checkpoint, cfg.trusted_packages, root=cfg.data.root,
                                    cache_dir=cfg.data.cache_dir, eval_batch_size=cfg.data.eval_batch_size,
                                    download=False)
    inputs, labels = datamodule.fixed_batch("test", cfg.reconstructions.count)
    mu = decoding.encode_means(model, inputs, labels)
    kl_per_dim = torch.tensor(run.metrics["test_kl_per_dim"])
    dims = most_active_dims(kl_per_dim, cfg.traversal.dims)
    prior_z = model.prior_sample(cfg.samples.count, torch.Generator().manual_seed(cfg.seed))
    # One draw per class for a conditional model (its class × draw grid with one column), so the strip is as long.
    classes = range(len(datamodule.class_names))
    samples = decoding.prior_samples(model, prior_z[:1] if model.conditional else prior_z, classes).flatten(0, 1)
    return DecodedRun(
        title=f"{axis.label} = {run.axis_value:g}, seed {run.seed}",
        inputs=inputs,
        reconstructions=decoding.decode(model, mu, labels),
        samples=samples,
        traversal=decoding.traverse(model, mu[0], dims, offsets, labels[0]),
        dims=dims,
        kl_per_dim=kl_per_dim,
        active=_active_dims(run, len(kl_per_dim)),
    )


def _active_dims(run: Run, latent_dim: int) -> Tensor:
    """Active units from the run's analysis; without one, every dimension is drawn as active (nothing greyed)."""
    dims = (run.analysis or {}).get("active_units", {}).get("dims")
    if dims is None:
        return torch.ones(latent_dim, dtype=torch.bool)
    active = torch.zeros(latent_dim, dtype=torch.bool)
    active[[dim for dim in dims if 0 <= dim < latent_dim]] = True
    return active


def traversal_comparison(decoded: list[DecodedRun], offsets: Tensor) -> tuple[Tensor, Tensor]:
    """Each axis value's traversal grid around the first test image as one (3, H, W) uint8 image: side by side, and
    for a TensorBoard card one above the other, each drawn card-sized (`card_image`) so its labels stay readable. Each
    grid is drawn once and rendered for both."""
    side_by_side, stacked = [], []
    for run in decoded:
        grid = traversal_grid(run.traversal, run.dims, run.kl_per_dim, run.active, offsets,
                              f"{run.title}: test image 0")
        side_by_side.append(figure_to_image_tensor(grid))
        stacked.append(card_image(grid, as_on_disk=side_by_side[-1]))
    return _joined(side_by_side, dim=2), _joined(stacked, dim=1)


def _joined(blocks: list[Tensor], dim: int) -> Tensor:
    """(3, H, W) uint8 images one above the other (`dim` 1) or side by side (2), white between them and after the
    smaller ones."""
    across = 3 - dim
    size = max(block.shape[across] for block in blocks)
    padded = [F.pad(block, (0, size - block.shape[2]) if across == 2 else (0, 0, 0, size - block.shape[1]),
                    value=255) for block in blocks]
    gap_shape = list(padded[0].shape)
    gap_shape[dim] = GAP_PIXELS
    gap = torch.full(gap_shape, 255, dtype=torch.uint8)
    return torch.cat([piece for block in padded for piece in (block, gap)][:-1], dim=dim)


def samples_strips(decoded: list[DecodedRun], axis: SweepAxis) -> Figure:
    return image_rows(
        [run.samples for run in decoded],
        [run.title for run in decoded],
        f"Samples from the prior: the same z ~ N(0, I) for every {axis.label}",
    )


def reconstruction_strips(decoded: list[DecodedRun]) -> Figure:
    return image_rows(
        [decoded[0].inputs] + [run.reconstructions for run in decoded],
        ["test images"] + [run.title for run in decoded],
        "Reconstructions (decoder mean at μ)",
    )


def image_rows(rows: list[Tensor], labels: list[str], title: str) -> Figure:
    """One labelled strip of (N, C, H, W) images per row."""
    figure = image_figure(len(rows), max(len(row) for row in rows), rows[0].shape[-1], extra_width=1.6)
    axes = figure.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, images, label in zip(axes, rows, labels, strict=True):
        show_images(ax, images, nrow=len(images))
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    axes[0].set_title(title)
    return figure
