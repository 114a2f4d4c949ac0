"""Every number of the analysis, each stated with the split and the sample size it used."""

from collections.abc import Callable
from typing import Any

import torch
from lightning import LightningDataModule
from omegaconf import DictConfig
from torch import Tensor

from vae_lightning.analysis.likelihood_numbers import likelihood_numbers
from vae_lightning.analysis.objective_terms import evaluate_objective
from vae_lightning.analysis.progress import PhaseClock, progress_bar
from vae_lightning.analysis.representation import (
    EncodedSplit,
    active_units,
    encode_dataset,
    knn_accuracy,
    linear_probe_accuracy,
)
from vae_lightning.analysis.smoothness import SmoothnessResult
from vae_lightning.models import VAE

# Which test images a subset-sized IWAE scores, whatever the run's seed: every run of a dataset is scored on the same
# images, so the bounds of a seed sweep pair image by image.
TEST_SUBSET_SEED = 0


def encode_splits(model: VAE, datamodule: LightningDataModule, max_train_images: int | None,
                  seed: int) -> dict[str, EncodedSplit]:
    """μ, log σ² and labels of the training split (for the probes) and the test split (for everything else); a
    training split larger than `max_train_images` (dSprites' 737,280) is represented by a seeded random subset.

    The labels are the true ones even where data.labeled_fraction hid them from training: probes measure what the
    code carries, whatever the model was shown."""
    encoded = {}
    for split, wanted in (("train", max_train_images), ("test", None)):
        images = datamodule.evaluated_split(split)
        chosen = seeded_subset(len(images), wanted, seed)
        parts = chosen.split(datamodule.hparams.eval_batch_size)
        batches = progress_bar((images.batch(part) for part in parts), f"encoding {split}", total=len(parts))
        encoded[split] = encode_dataset(model, batches)._replace(labels=images.labels[chosen],
                                                                 domains=images.domains[chosen])
    return encoded


def compute_metrics(model: VAE, datamodule: LightningDataModule, test: EncodedSplit, iwae_settings: DictConfig,
                    threshold: float, seed: int, clock: PhaseClock) -> dict[str, Any]:
    """The test split's objective terms, what its likelihood is, the IWAE bound with the ELBO on the same images and
    its K-convergence, and active units (Cov(μ_d) above `threshold`) as one JSON-ready dictionary; each part is
    timed and announced as a phase of `clock`. The probes are apart (`probe_metrics`): they run beside the
    figures."""
    test_split = datamodule.split("test")
    with clock("objective terms", f"{len(test_split):,} test images"):
        terms = evaluate_objective(model, progress_bar(datamodule.ordered_dataloader("test"), "objective"), seed)
    chosen = seeded_subset(len(test_split), iwae_settings.num_images, TEST_SUBSET_SEED)
    subset = "all" if len(chosen) == len(test_split) else f"a random {len(chosen)}, the same for every run"
    with clock("IWAE bound", f"{len(chosen):,} test images, K = {iwae_settings.num_samples}, and its K-convergence"):
        likelihood = likelihood_numbers(model, test_split.images[chosen].float().div(255), test_split.labels[chosen],
                                        iwae_settings, seed, subset)
    mu_variance, active = active_units(test.mu, threshold)
    return {
        "units": "nats per image",
        "term_descriptions": dict(model.term_descriptions),
        "likelihood": model.describe_likelihood(datamodule.pixels_are_binary()),
        "objective": {"split": "test", "num_images": terms.num_images, **terms.scalars, **terms.per_dim},
        **likelihood,
        "active_units": {"split": "test", "num_images": len(test.mu), "threshold": threshold,
                         "count": int(active.sum()), "dims": active.nonzero().flatten().tolist(),
                         "mu_variance": mu_variance.tolist()},
    }


def probe_metrics(datamodule: LightningDataModule, train: EncodedSplit, test: EncodedSplit, kl_per_dim: Tensor,
                  probes: DictConfig, seed: int) -> dict[str, Any]:
    """Linear probes on μ, on one z ~ q(z|x) and on μ of the informative dimensions, the k-NN probe, and for
    multi-domain data the domain probe: trained on the training codes, scored on the test codes. Each fit runs on one
    thread, so the accuracies are the same however many cores there are and whatever runs beside them."""
    probe_sizes = {"train_split": "train", "num_train": len(train.mu), "test_split": "test", "num_test": len(test.mu)}
    linear = {**probe_sizes, "chance": chance_accuracy(test.labels),
              "accuracy": _if_two_classes(train.labels, linear_probe_accuracy, train.mu, train.labels, test.mu,
                                          test.labels, seed=seed),
              "accuracy_on_samples": _if_two_classes(
                  train.labels, linear_probe_accuracy, sample_codes(train, seed), train.labels,
                  sample_codes(test, seed + 1), test.labels, seed=seed),
              **_informative_probe(train, test, kl_per_dim, probes.informative_kl, seed)}
    knn = {**probe_sizes, "k": probes.knn_k,
           "accuracy": _if_two_classes(train.labels, knn_accuracy, train.mu, train.labels, test.mu, test.labels,
                                       k=probes.knn_k)}
    return {"linear_probe": linear, "knn_probe": knn, **_domain_probe(datamodule, train, test, probe_sizes, seed)}


def seeded_subset(size: int, wanted: int | None, seed: int) -> Tensor:
    """Which images of a split a number uses: all, or a seeded random `wanted` of them in file order. Random, not
    the first N, because a split may be ordered by class or domain (a multi-domain test split starts with one
    domain, dSprites' grid with one shape)."""
    if wanted is None or wanted >= size:
        return torch.arange(size)
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:wanted].sort().values


def sample_codes(encoded: EncodedSplit, seed: int) -> Tensor:
    """One draw z ~ q(z | x) per image: the code the decoder actually receives.

    A probe on μ can read class offsets far below the posterior noise in dimensions the decoder ignores (the probe
    standardises every dimension); a probe on z only reads what survives that noise."""
    noise = torch.randn(encoded.mu.shape, generator=torch.Generator().manual_seed(seed))
    return encoded.mu + (0.5 * encoded.log_var).exp() * noise


def chance_accuracy(labels: Tensor) -> float:
    """The accuracy of always answering the most common label: what a probe on a code without label information
    scores."""
    return labels.bincount().max().item() / len(labels)


def _if_two_classes(train_labels: Tensor, probe: Callable[..., float], *args: Any, **kwargs: Any) -> float | None:
    """A probe's accuracy, or None when the data has a single class and there is nothing to predict."""
    return probe(*args, **kwargs) if len(train_labels.unique()) > 1 else None


def _informative_probe(train: EncodedSplit, test: EncodedSplit, kl_per_dim: Tensor, informative_kl: float,
                       seed: int) -> dict[str, Any]:
    """The linear probe on μ of the dimensions that carry more than `informative_kl` nats: the part of μ the
    decoder reads, without the near-silent dimensions whose tiny class offsets a standardised probe amplifies."""
    dims = (kl_per_dim > informative_kl).nonzero().flatten()
    accuracy = None if len(dims) == 0 else _if_two_classes(
        train.labels, linear_probe_accuracy, train.mu[:, dims], train.labels, test.mu[:, dims], test.labels,
        seed=seed)
    return {"informative_kl": informative_kl, "informative_dims": dims.tolist(),
            "accuracy_on_informative_dims": accuracy}


def _domain_probe(datamodule: LightningDataModule, train: EncodedSplit, test: EncodedSplit,
                  probe_sizes: dict[str, Any], seed: int) -> dict[str, Any]:
    """How well μ tells the domains apart (multi-domain data only): high when the code carries the domain."""
    if len(datamodule.domain_names) < 2:
        return {}
    return {"domain_probe": {**probe_sizes, "domains": list(datamodule.domain_names),
                             "chance": chance_accuracy(test.domains),
                             "accuracy": linear_probe_accuracy(train.mu, train.domains, test.mu, test.domains, seed)}}


def traversal_numbers(smoothness: SmoothnessResult, dims: list[int], kl_per_dim: Tensor, mu_variance: Tensor,
                      active: Tensor, traversal: DictConfig, num_base_images: int) -> dict[str, Any]:
    """Per-dimension smoothness of the traversals, in the order of `dims` (most informative first)."""
    per_dim = [
        {"dim": dim, "kl": kl_per_dim[dim].item(), "mu_variance": mu_variance[dim].item(),
         "active": bool(active[dim]), "mean_step_change": smoothness.mean_step_change[row].item(),
         "monotonicity": smoothness.monotonicity[row].item(),
         "max_step_fraction": smoothness.max_step_fraction[row].item()}
        for row, dim in enumerate(dims)
    ]
    return {"split": "test", "num_base_images": num_base_images, "range": traversal.range,
            "steps": traversal.steps, "per_dim": per_dim}
