"""Feature networks on disk, one per training set and settings: trained once, then read by every analysis of that
data. A file is named by a content hash of the training images, their labels and the network's settings, so a
changed dataset or setting can never pick up a stale network, and its record holds the test accuracy it reached."""

import dataclasses
import hashlib
import io
import json
import pickle
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vae_lightning.analysis.sample_quality.feature_network import (
    PROJECT_SETTINGS,
    FeatureNetwork,
    FeatureNetworkSettings,
    accuracy,
    train_feature_network,
)
from vae_lightning.atomic_files import write_atomic, write_json_atomic
from vae_lightning.data.base import InMemoryImages
from vae_lightning.data.fingerprint import fingerprint as content_fingerprint
from vae_lightning.data.sources import default_cache_dir
from vae_lightning.errors import StorageError

# Of the cached file; part of the key, so a new layout never reads an old file. 2: trained in float32 on every
# machine (format 1 trained under the analysis's autocast, where bfloat16 could leave it at chance).
FORMAT = 2
EVAL_BATCH_SIZE = 1000


@dataclasses.dataclass
class CachedFeatureNetwork:
    """A trained feature network (on its device, in evaluation mode), where it is cached, and its record: what it
    was trained on and the test accuracy it reached."""

    network: FeatureNetwork
    path: Path
    record: dict[str, Any]


def feature_cache_dir(configured: str | Path | None) -> Path:
    """The configured folder, or `<user cache>/vae_lightning/feature_networks` (`$XDG_CACHE_HOME` honoured)."""
    return Path(configured).expanduser().resolve() if configured else default_cache_dir() / "feature_networks"


def cache_key(fingerprint: str, num_classes: int, settings: FeatureNetworkSettings) -> str:
    """16 hex digits of the hash of everything that determines the trained network."""
    identity = {"format": FORMAT, "training_data": fingerprint, "num_classes": num_classes,
                "settings": dataclasses.asdict(settings)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def training_subset(train: InMemoryImages, settings: FeatureNetworkSettings) -> tuple[Tensor, Tensor]:
    """The images and labels the network trains on: the whole training split, or a seeded random
    `max_train_images` of a larger one."""
    if len(train) <= settings.max_train_images:
        return train.images, train.labels
    chosen = torch.randperm(len(train), generator=torch.Generator().manual_seed(settings.seed))
    chosen = chosen[: settings.max_train_images].sort().values
    return train.images[chosen], train.labels[chosen]


def feature_network_for(dataset: str, class_names: tuple[str, ...], train: InMemoryImages, test: InMemoryImages,
                        cache_dir: Path, device: torch.device, settings: FeatureNetworkSettings = PROJECT_SETTINGS,
                        retrain: bool = False, report: Callable[[str], None] = print) -> CachedFeatureNetwork:
    """The cached network of this training split and settings, trained now (and cached) if there is none, if its
    file cannot be read, or if `retrain`. It sees only `train`; `test` only measures its accuracy."""
    images, labels = training_subset(train, settings)
    fingerprint = content_fingerprint(images, labels.long())  # the training data's identity
    path = cache_dir / f"{dataset}-{cache_key(fingerprint, len(class_names), settings)}.pt"
    if path.exists() and not retrain:
        cached = _read(path, len(class_names), settings, device, report)
        if cached is not None:
            return _warned(cached, report)
    report(f"Training the {dataset} feature network on {len(images)} training images "
           f"({settings.epochs} epochs; cached in {path} for every later analysis of this data) …")
    start = time.perf_counter()
    network = train_feature_network(images, labels, len(class_names), settings, device, report)
    seconds = time.perf_counter() - start
    record = {
        "format": FORMAT, "dataset": dataset, "classes": list(class_names),
        "training_data": {"split": "train", "num_images": len(images), "sha256": fingerprint},
        "settings": dataclasses.asdict(settings), "train_seconds": round(seconds, 1),
        "test_accuracy": accuracy(network, test.images, test.labels, EVAL_BATCH_SIZE), "num_test_images": len(test),
        "device": str(device), "torch": str(torch.__version__), "created": datetime.now(timezone.utc).isoformat(),
    }
    report(f"  test accuracy {record['test_accuracy']:.4f} on {len(test)} test images ({seconds:.0f} s of training)")
    _write(path, network, record)
    return _warned(CachedFeatureNetwork(network, path, record), report)


def untrained_warning(record: dict[str, Any]) -> str | None:
    """A warning, or None, for a network whose test accuracy is not at least halfway from chance to 1: features that
    do not separate the classes give an FID of any size and precision/recall of no meaning (toy data, labels that
    are not the image classes)."""
    chance = 1 / len(record["classes"])
    if record["test_accuracy"] >= (1 + chance) / 2:
        return None
    return (f"Warning: the {record['dataset']} feature network reached a test accuracy of only "
            f"{record['test_accuracy']:.4f} (chance {chance:.4f}), so its FID and precision/recall do not measure "
            "sample quality; check that the training labels are the image classes, or leave sample quality out "
            "with sample_quality.compute=false.")


def _write(path: Path, network: FeatureNetwork, record: dict[str, Any]) -> None:
    """The weights and the record in one file, and the record again as JSON beside it for people to read."""
    buffer = io.BytesIO()
    torch.save({"record": record, "in_channels": network.in_channels, "state_dict": network.state_dict()}, buffer)
    try:
        write_atomic(path, lambda handle: handle.write(buffer.getvalue()))
        write_json_atomic(path.with_suffix(".json"), record)
    except OSError as error:
        raise StorageError(
            f"The feature network could not be cached in {path.parent} ({error.strerror or error}). Free space there, "
            "or point the cache at a writable folder: sample_quality.cache_dir=<folder> (analyze) or "
            "cache_dir=<folder> (vae_lightning.features)."
        ) from error


def _warned(cached: CachedFeatureNetwork, report: Callable[[str], None]) -> CachedFeatureNetwork:
    if (warning := untrained_warning(cached.record)) is not None:
        report(warning)
    return cached


def _read(path: Path, num_classes: int, settings: FeatureNetworkSettings, device: torch.device,
          report: Callable[[str], None]) -> CachedFeatureNetwork | None:
    """The cached network, or None (said in one line) when the file cannot be read: it is then trained again."""
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
        record = saved["record"]
        network = FeatureNetwork(saved["in_channels"], num_classes, settings).to(device)
        network.load_state_dict(saved["state_dict"])
    except (OSError, RuntimeError, EOFError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as error:
        report(f"The cached feature network {path} cannot be read ({type(error).__name__}: {error}); training it "
               "again.")
        return None
    return CachedFeatureNetwork(network.eval(), path, record)
