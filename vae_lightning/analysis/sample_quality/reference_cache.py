"""The reference set's features, kept beside the feature network: every analysis of a dataset compares its samples
with the same test images through the same network, so their features are computed once (about 1.3 s of a 2-core
CPU's time for MNIST's 10,000) and read back by every later analysis.

A file is named by everything that decides its numbers: the network's file, the images' content, and how they were
computed (device, batch size, torch's thread count), so a cached set equals, bit for bit, what `extract` would
return now. A file that cannot be read is computed again."""

import contextlib
import hashlib
import io
import json
import pickle
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from vae_lightning.analysis.sample_quality.feature_network import FeatureNetwork, extract
from vae_lightning.atomic_files import write_atomic
from vae_lightning.data.fingerprint import fingerprint

FORMAT = 1


class ReferenceFeatures(NamedTuple):
    features: Tensor  # (N, D) float32, the network's penultimate layer
    logits: Tensor  # (N, classes) float32


def reference_features(network: FeatureNetwork, network_path: Path, images: Tensor,
                       batch_size: int) -> ReferenceFeatures:
    """`extract(network, images, batch_size)`, read from the cache beside `network_path` when it holds this very
    computation, else computed and cached there (a cache that cannot be written costs only the time)."""
    path = cache_path(network, network_path, images, batch_size)
    try:
        saved = torch.load(path, weights_only=True)
        return ReferenceFeatures(saved["features"], saved["logits"])
    except (OSError, RuntimeError, EOFError, KeyError, TypeError, pickle.UnpicklingError):
        pass  # absent or unreadable: computed below
    computed = ReferenceFeatures(*extract(network, images, batch_size))
    buffer = io.BytesIO()
    torch.save(computed._asdict(), buffer)
    with contextlib.suppress(OSError):  # a read-only or full cache folder: the next analysis computes them again
        write_atomic(path, lambda handle: handle.write(buffer.getvalue()))
    return computed


def cache_path(network: FeatureNetwork, network_path: Path, images: Tensor, batch_size: int) -> Path:
    """`<network file>.reference-<16 hex digits>.pt`, the digits a hash of what decides the features."""
    device = next(network.parameters()).device
    identity = {"format": FORMAT, "network": network_path.name, "images": fingerprint(images),
                "batch_size": batch_size, "device": device.type, "threads": torch.get_num_threads(),
                "torch": torch.__version__}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return network_path.with_name(f"{network_path.stem}.reference-{key}.pt")
