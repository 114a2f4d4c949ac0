"""The sample-quality block of an analysis: draw samples from the model, read them and the test split through the
data's feature network, and compare (FID with its bootstrap error, precision and recall, class balance)."""

from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor, nn

from vae_lightning.analysis.metrics import seeded_subset
from vae_lightning.analysis.plots import Publisher, sample_grid
from vae_lightning.analysis.sample_quality.class_balance import label_entropies
from vae_lightning.analysis.sample_quality.feature_cache import (
    CachedFeatureNetwork,
    feature_cache_dir,
    feature_network_for,
    untrained_warning,
)
from vae_lightning.analysis.sample_quality.feature_network import extract
from vae_lightning.analysis.sample_quality.frechet import fid_with_bootstrap
from vae_lightning.analysis.sample_quality.manifold import precision_recall
from vae_lightning.analysis.sample_quality.reference_cache import reference_features
from vae_lightning.data.base import InMemoryDataModule, InMemoryImages
from vae_lightning.errors import ConfigError


def can_sample(model: nn.Module | type[nn.Module]) -> bool:
    """Whether the model (or model class) draws images of its own (the contract's optional `sample(n, generator)`)."""
    return callable(getattr(model, "sample", None))


def why_not_measured(model: nn.Module, datamodule: InMemoryDataModule, compute: bool | str) -> str | None:
    """Why sample quality is not measured for this model and data (None when it is): switched off, a model that
    cannot sample, or data with a single class (nothing for the feature network to learn). With `compute=true` the
    last two are errors."""
    if compute is False:
        return "switched off (sample_quality.compute=false)"
    reason = None
    if not can_sample(model):
        reason = (f"{type(model).__name__} cannot draw samples (it has no `sample(n, generator)` method), so there is "
                  "no FID, precision or recall for it")
    elif len(datamodule.class_names) < 2:
        reason = (f"the data has one class ({datamodule.class_names[0]!r}), so no classifier can be trained as its "
                  "feature network")
    if reason is not None and compute is True:
        raise ConfigError(f"sample_quality.compute=true, but {reason}. Use sample_quality.compute=auto to skip it.")
    return reason


def source_splits(datamodule: InMemoryDataModule) -> dict[str, InMemoryImages]:
    """The data's train and test splits as its source stores them: never binarised, subset or relabelled, and the
    same whatever the run's seed, validation fraction or training-set limit, so every run of a dataset shares one
    feature network and one reference set."""
    datamodule.prepare_data()
    return datamodule.load_splits()


def load_feature_network(datamodule: InMemoryDataModule, source: dict[str, InMemoryImages], cache_dir: str | None,
                         device: torch.device, retrain: bool = False) -> CachedFeatureNetwork:
    """The data's feature network: read from the cache, or trained on the training split of `source` and cached."""
    return feature_network_for(datamodule.hparams.name, datamodule.class_names, source["train"], source["test"],
                               feature_cache_dir(cache_dir), device, retrain=retrain)


def draw_samples(model: nn.Module, count: int, batch_size: int, seed: int, labels: Tensor | None) -> Tensor:
    """`count` samples (CPU, float32, clamped to [0, 1]) drawn in batches from one seeded generator; a conditional
    model draws each under the matching entry of `labels`."""
    generator = torch.Generator().manual_seed(seed)
    conditional = getattr(model, "conditional", False)
    batches = []
    with torch.no_grad():
        for start in range(0, count, batch_size):
            size = min(batch_size, count - start)
            extra = {"labels": labels[start : start + size].to(model.device)} if conditional else {}
            batches.append(model.sample(size, generator=generator, **extra).float().clamp(0, 1).cpu())
    return torch.cat(batches)


def measure_samples(model: nn.Module, datamodule: InMemoryDataModule, settings: DictConfig,
                    seed: int) -> tuple[dict[str, Any], Tensor | None]:
    """The sample-quality block and the samples it measured; `{"skipped": why}` and None, said in one line, for a
    model that cannot sample or data without classes (under `compute: auto`)."""
    reason = why_not_measured(model, datamodule, settings.compute)
    if reason is not None:
        print(f"Sample quality not measured: {reason}.", flush=True)
        return {"skipped": reason}, None
    check_settings(settings)
    return sample_quality(model, datamodule, settings, seed)


def check_settings(settings: DictConfig) -> None:
    """Refuse sizes the measurement cannot use, naming the key."""
    if settings.knn_k < 1 or settings.num_samples <= settings.knn_k:
        raise ConfigError(f"sample_quality.num_samples={settings.num_samples} with sample_quality.knn_k="
                          f"{settings.knn_k} is not allowed: k must be >= 1 and each set needs more than k images "
                          "for precision and recall; use the defaults (10000 and 3), or a few hundred samples.")
    for key, least in (("batch_size", 1), ("bootstrap_resamples", 0)):
        if settings[key] < least:
            raise ConfigError(f"sample_quality.{key}={settings[key]} is not allowed: it must be an integer ≥ {least}.")


def publish_samples(samples: Tensor, publish: Publisher, count: int = 64) -> None:
    """The first `count` of the measured samples as `samples.png` and TensorBoard's analysis/samples."""
    publish("samples", sample_grid(samples[:count], f"Samples ({count} of the {len(samples)} measured)"))


def sample_quality(model: nn.Module, datamodule: InMemoryDataModule, settings: DictConfig,
                   seed: int) -> tuple[dict[str, Any], Tensor]:
    """The metrics.json block and the samples it measured. The reference is a seeded random `num_samples` of the
    test split as stored (all of a smaller split), and as many samples are drawn, so both sets have one size; a
    conditional model draws under those images' labels, so its classes come in the test split's proportions."""
    source = source_splits(datamodule)
    cached = load_feature_network(datamodule, source, settings.cache_dir, model.device)
    test = source["test"]
    chosen = seeded_subset(len(test), settings.num_samples, seed)
    if len(chosen) <= settings.knn_k:
        raise ConfigError(f"The test split has {len(test)} images, too few for precision and recall with "
                          f"sample_quality.knn_k={settings.knn_k} (each set needs more than k images); use "
                          "sample_quality.compute=false for this data.")
    print(f"Sample quality: {len(chosen)} samples against {len(chosen)} test images …", flush=True)
    samples = draw_samples(model, len(chosen), settings.batch_size, seed, test.labels[chosen])
    sample_features, sample_logits = extract(cached.network, samples, settings.batch_size)
    reference = reference_features(cached.network, cached.path, test.images[chosen], settings.batch_size)
    estimate = fid_with_bootstrap(sample_features, reference.features, settings.bootstrap_resamples,
                                  torch.Generator().manual_seed(seed))
    manifold = precision_recall(sample_features, reference.features, settings.knn_k)
    block = {
        "num_samples": len(chosen), "reference": {"split": "test", "num_images": len(chosen), "seed": seed},
        "feature_network": {"file": str(cached.path), **{key: cached.record[key] for key in (
            "dataset", "test_accuracy", "num_test_images", "training_data", "train_seconds")},
            "feature_dim": sample_features.shape[1], "warning": untrained_warning(cached.record)},
        "fid": estimate.value, "fid_bootstrap_std": estimate.bootstrap_std,
        "bootstrap_resamples": estimate.num_resamples,
        "precision": manifold.precision, "recall": manifold.recall, "knn_k": settings.knn_k,
        "class_balance": {"samples": label_entropies(sample_logits), "reference": label_entropies(reference.logits)},
    }  # no timings here: metrics.json is a function of the seed; the phase's time is in timings.json
    return block, samples
