"""Decode what the figures show and draw them: every figure is saved as a file and logged to TensorBoard."""

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from vae_lightning.analysis import plots as figures
from vae_lightning.analysis.interpolation import interpolate
from vae_lightning.analysis.numbers import traversal_numbers
from vae_lightning.analysis.representation import EncodedSplit
from vae_lightning.analysis.smoothness import traversal_smoothness
from vae_lightning.analysis.traversal import traversal_latents
from vae_lightning.data import ImageDataModule
from vae_lightning.models import VAELitModule


def draw_panels(model: VAELitModule, datamodule: ImageDataModule, encoded: dict[str, EncodedSplit],
                metrics: dict[str, Any], cfg: DictConfig, output_dir: Path, writer: SummaryWriter) -> dict[str, Any]:
    """Write every figure; returns the traversal smoothness numbers, which come from the traversal images."""
    test = encoded["test"]
    kl_per_dim = torch.tensor(metrics["elbo"]["kl_per_dim"])
    mu_variance = torch.tensor(metrics["active_units"]["mu_variance"])
    active = mu_variance > cfg.active_units.threshold
    dims = torch.argsort(kl_per_dim, descending=True).tolist()
    class_names = datamodule.class_names
    publish = figures.Publisher(output_dir, writer, "analysis")

    bases = _first_of_each_class(test.labels, cfg.traversal.num_base_images)
    offsets = torch.linspace(-cfg.traversal.range, cfg.traversal.range, cfg.traversal.steps)
    traversals = torch.stack([_decode(model, traversal_latents(test.mu[i].to(model.device), dims, offsets))
                              for i in bases])
    for number, index in enumerate(bases):
        title = f"Traversals around test image {index} ({class_names[test.labels[index]]})"
        publish(f"traversal_{number}", figures.traversal_grid(traversals[number, : cfg.traversal.grid_dims],
                                                              dims[: cfg.traversal.grid_dims], kl_per_dim, active,
                                                              offsets, title))
    publish("traversal_strips", figures.traversal_strips(traversals[0], dims, kl_per_dim, active, offsets))
    figures.traversal_animation(traversals[0, : cfg.traversal.animation_dims], dims[: cfg.traversal.animation_dims],
                                output_dir / "traversal.gif")

    test_images = datamodule.split("test")
    per_class = _first_of_each_class(test.labels, len(class_names), per_class=cfg.reconstructions.per_class)
    inputs = test_images.__getitems__(per_class)[0]
    publish("reconstructions", figures.reconstructions_by_class(
        inputs, _decode(model, test.mu[per_class].to(model.device)), test.labels[per_class], class_names,
        cfg.reconstructions.per_class))

    generator = torch.Generator().manual_seed(cfg.seed)
    prior_z = torch.randn(cfg.samples.count, model.hparams.latent_dim, generator=generator)
    publish("samples", figures.sample_grid(_decode(model, prior_z.to(model.device)), "Samples from the prior"))

    pairs = _pairs_of_different_classes(test.labels, cfg.interpolation.num_pairs, generator)
    paths = {method: torch.stack([_decode(model, interpolate(test.mu[a], test.mu[b], cfg.interpolation.steps,
                                                                    method).to(model.device)) for a, b in pairs])
             for method in ("linear", "spherical")}
    publish("interpolations", figures.interpolation_grid(paths["linear"], paths["spherical"]))

    methods = ("pca", "tsne") if cfg.latent_map.tsne else ("pca",)
    for method in methods:
        if method == "tsne":
            print(f"t-SNE of up to {cfg.latent_map.tsne_max_points} test codes …", flush=True)
        points, kept = figures.project_2d(test.mu, method, seed=cfg.seed, max_points=cfg.latent_map.tsne_max_points
                                          if method == "tsne" else None)
        publish(f"latent_map_{method}", figures.latent_map(points, test.labels[kept], class_names,
                                                           f"Test-set μ ({len(kept)} images)", method))
    publish("kl_per_dim", figures.kl_bar_chart(kl_per_dim, mu_variance, cfg.active_units.threshold,
                                               "KL per latent dimension (test set)"))

    smoothness = traversal_smoothness(traversals)
    averaged = type(smoothness)(*(field.mean(0) for field in smoothness))
    return traversal_numbers(averaged, dims, kl_per_dim, mu_variance, active, cfg, len(bases))


def _decode(model: VAELitModule, latents: Tensor) -> Tensor:
    """Decoder means for latents of any leading shape (..., D), on the CPU."""
    flat = latents.reshape(-1, latents.shape[-1])
    return model.decode_mean(flat).cpu().reshape(*latents.shape[:-1], *model.hparams.image_shape)


def _first_of_each_class(labels: Tensor, num_classes: int, per_class: int = 1) -> list[int]:
    """Indices of the first `per_class` test images of each of the first `num_classes` labels present."""
    chosen = []
    for label in labels.unique()[:num_classes].tolist():
        chosen += (labels == label).nonzero().flatten()[:per_class].tolist()
    return chosen


def _pairs_of_different_classes(labels: Tensor, count: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """Seeded random pairs of test images whose labels differ, so each path crosses between classes."""
    pairs = []
    order = torch.randperm(len(labels), generator=generator).tolist()
    for a, b in zip(order[::2], order[1::2], strict=False):
        if labels[a] != labels[b]:
            pairs.append((a, b))
        if len(pairs) == count:
            break
    return pairs
