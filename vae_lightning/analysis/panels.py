"""Decode what the figures show and draw them: every figure is saved as a file and logged to TensorBoard."""

from pathlib import Path
from typing import Any

import torch
from lightning import LightningDataModule
from matplotlib.figure import Figure
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from vae_lightning.analysis import decoding
from vae_lightning.analysis import plots as figures
from vae_lightning.analysis.metrics import traversal_numbers
from vae_lightning.analysis.representation import EncodedSplit
from vae_lightning.analysis.smoothness import traversal_smoothness
from vae_lightning.errors import ConfigError
from vae_lightning.models import VAE


def draw_panels(model: VAE, datamodule: LightningDataModule, test: EncodedSplit, metrics: dict[str, Any],
                cfg: DictConfig, output_dir: Path, writer: SummaryWriter) -> dict[str, Any]:
    """Write every figure; returns the traversal smoothness numbers, which come from the traversal images.

    `cfg` is the analysis config's figure settings (traversal, samples, reconstructions, interpolation, latent_map,
    active_units and seed). Decoding follows `vae_lightning.analysis.decoding`'s rule for a conditional model's labels.
    Multi-domain data adds latent maps coloured by domain and interpolations between domains."""
    kl_per_dim = torch.tensor(metrics["objective"]["kl_per_dim"])
    mu_variance = torch.tensor(metrics["active_units"]["mu_variance"])
    active = mu_variance > cfg.active_units.threshold
    dims = torch.argsort(kl_per_dim, descending=True).tolist()
    class_names = datamodule.class_names
    publish = figures.Publisher(output_dir, writer, "analysis")

    notes = factor_notes(metrics.get("factor_metrics"))
    bases = _first_of_each_class(test.labels, cfg.traversal.num_base_images)
    offsets = torch.linspace(-cfg.traversal.range, cfg.traversal.range, cfg.traversal.steps)
    traversals = torch.stack([decoding.traverse(model, test.mu[i], dims, offsets, test.labels[i]) for i in bases])
    for number, index in enumerate(bases):
        title = f"Traversals around test image {index} ({class_names[test.labels[index]]})"
        publish(f"traversal_{number}", figures.traversal_grid(traversals[number, : cfg.traversal.grid_dims],
                                                              dims[: cfg.traversal.grid_dims], kl_per_dim, active,
                                                              offsets, title, notes=notes))
    publish("traversal_strips", figures.traversal_strips(traversals[0], dims, kl_per_dim, active, offsets, notes))
    figures.traversal_animation(traversals[0, : cfg.traversal.animation_dims], dims[: cfg.traversal.animation_dims],
                                output_dir / "traversal.gif")

    per_class = _first_of_each_class(test.labels, len(class_names), per_class=cfg.reconstructions.per_class)
    inputs = datamodule.split("test").batch(per_class)[0]
    publish("reconstructions", figures.reconstructions_by_class(
        inputs, decoding.decode(model, test.mu[per_class], test.labels[per_class]), test.labels[per_class],
        class_names, cfg.reconstructions.per_class))

    generator = torch.Generator().manual_seed(cfg.seed)
    prior_z = model.prior_sample(cfg.samples.count, generator)
    if model.conditional:
        classes = chosen_classes(cfg.samples.classes, class_names)
        grid = decoding.prior_samples(model, prior_z[: cfg.samples.per_class], classes)
        publish("samples_by_class", figures.samples_by_class(grid, [class_names[c] for c in classes]))
    else:
        publish("samples", figures.sample_grid(decoding.prior_samples(model, prior_z)[0], "Samples from the prior"))

    pairs = pairs_differing_in(test.labels, cfg.interpolation.num_pairs, generator)
    publish("interpolations", _interpolations(model, test, pairs, cfg.interpolation.steps,
                                              "Interpolations between test images' μ"))
    domain_names = datamodule.domain_names
    test_domains = datamodule.split("test").domains
    if len(domain_names) > 1:
        pairs = pairs_differing_in(test_domains, cfg.interpolation.num_pairs, generator)
        publish("interpolations_across_domains", _interpolations(
            model, test, pairs, cfg.interpolation.steps,
            f"Interpolations between test images of different domains ({', '.join(domain_names)})"))

    methods = ("pca", "tsne") if cfg.latent_map.tsne else ("pca",)
    for method in methods:
        if method == "tsne":
            print(f"t-SNE of up to {cfg.latent_map.tsne_max_points} test codes …", flush=True)
        points, kept = figures.project_2d(test.mu, method, seed=cfg.seed, max_points=cfg.latent_map.tsne_max_points
                                          if method == "tsne" else None)
        title = f"Test-set μ ({len(kept)} images)"
        publish(f"latent_map_{method}", figures.latent_map(points, test.labels[kept], class_names, title, method))
        if len(domain_names) > 1:
            publish(f"latent_map_{method}_by_domain", figures.latent_map(points, test_domains[kept], domain_names,
                                                                         f"{title}, coloured by domain", method))
    publish("kl_per_dim", figures.kl_bar_chart(kl_per_dim, mu_variance, cfg.active_units.threshold,
                                               "KL per latent dimension (test set)"))

    smoothness = traversal_smoothness(traversals)
    averaged = type(smoothness)(*(field.mean(0) for field in smoothness))
    return traversal_numbers(averaged, dims, kl_per_dim, mu_variance, active, cfg.traversal, len(bases))


def factor_notes(factor_metrics: dict[str, Any] | None) -> dict[int, str]:
    """For data with known factors, the factor each latent dimension predicts best (from DCI's importance matrix) and
    its share of that dimension's importance, e.g. "pos_x (93%)"; dimensions that predict nothing get no note."""
    if factor_metrics is None:
        return {}
    return {row["dim"]: f"{row['factor']} ({row['importance_share']:.0%})"
            for row in factor_metrics["dci"]["per_dimension"] if row["dim_importance"] > MIN_DIM_IMPORTANCE}


# A dimension with less than this share of the total importance predicts too little for its best factor to mean much.
MIN_DIM_IMPORTANCE = 0.01


def chosen_classes(wanted: list[str | int] | None, class_names: tuple[str, ...]) -> list[int]:
    """`samples.classes` as label indices: class names or indices, or every class (at most MAX_SAMPLE_ROWS) for
    null."""
    if wanted is None:
        return list(range(min(len(class_names), MAX_SAMPLE_ROWS)))
    indices = []
    for item in wanted:
        index = class_names.index(item) if item in class_names else item
        if not isinstance(index, int) or not 0 <= index < len(class_names):
            raise ConfigError(f"samples.classes has {item!r}, which is neither a class name nor a label index of "
                              f"this data; its classes are {', '.join(class_names)} "
                              f"(indices 0–{len(class_names) - 1}).")
        indices.append(index)
    return indices


MAX_SAMPLE_ROWS = 20


def _interpolations(model: VAE, test: EncodedSplit, pairs: list[tuple[int, int]], steps: int,
                    title: str) -> Figure:
    """Linear and spherical paths between the μ of each pair of test images."""
    paths = {
        method: torch.stack([decoding.interpolation(model, test.mu[a], test.mu[b], steps, method,
                                                    (int(test.labels[a]), int(test.labels[b])))
                             for a, b in pairs])
        for method in ("linear", "spherical")
    }
    return figures.interpolation_grid(paths["linear"], paths["spherical"], title)


def _first_of_each_class(labels: Tensor, num_classes: int, per_class: int = 1) -> list[int]:
    """Indices of the first `per_class` test images of each of the first `num_classes` labels present."""
    chosen = []
    for label in labels.unique()[:num_classes].tolist():
        chosen += (labels == label).nonzero().flatten()[:per_class].tolist()
    return chosen


def pairs_differing_in(groups: Tensor, count: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """Up to `count` seeded random pairs of distinct test images from different groups (classes or domains), so
    each path crosses between them; any two images when there is a single group. Each image is used once."""
    pairs: list[tuple[int, int]] = []
    single_group = len(groups.unique()) < 2
    order = torch.randperm(len(groups), generator=generator).tolist()
    used: set[int] = set()
    for position, a in enumerate(order):
        if a in used:
            continue
        b = next((c for c in order[position + 1 :] if c not in used and (single_group or groups[c] != groups[a])),
                 None)
        if b is not None:
            pairs.append((a, b))
            used |= {a, b}
        if len(pairs) == count:
            break
    return pairs
