"""The in-domain feature network: a small convolutional classifier of the data's classes, trained on its training
split only, whose penultimate activations are the features FID and precision/recall compare.

Inception features mean little on 28 × 28 digits and clothes; a classifier of the data itself sees what separates
its classes. Its settings are fixed here rather than in YAML: an FID compares with another only under the same
network, so every run of a dataset should share one (`feature_cache.py` keys it by these settings and the data).
"""

import dataclasses
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclasses.dataclass(frozen=True)
class FeatureNetworkSettings:
    """The network and its training; part of the cache key, so changing one trains and caches a new network."""

    channels: tuple[int, ...] = (16, 32, 64)  # one 3 × 3 convolution block each, 2 × 2 max-pooling between them
    pooled_side: int = 3  # the last block is average-pooled to this side, whatever the image size
    feature_dim: int = 128  # the penultimate layer: the features FID and precision/recall compare
    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 1e-3
    max_train_images: int = 60000  # a seeded random subset of a larger training split (dSprites' 737,280)
    seed: int = 0


# The project's feature network: every analysis uses it, so FIDs of one dataset compare.
PROJECT_SETTINGS = FeatureNetworkSettings()


class FeatureNetwork(nn.Module):
    """Convolution blocks (conv 3 × 3, batch norm, ReLU), a fully connected feature layer, and the class logits."""

    def __init__(self, in_channels: int, num_classes: int,
                 settings: FeatureNetworkSettings = PROJECT_SETTINGS) -> None:
        super().__init__()
        self.in_channels = in_channels
        layers: list[nn.Module] = []
        channels_in = in_channels
        for index, channels in enumerate(settings.channels):
            if index > 0:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.Conv2d(channels_in, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
            channels_in = channels
        layers.append(nn.AdaptiveAvgPool2d(settings.pooled_side))
        self.convolutions = nn.Sequential(*layers)
        self.feature_layer = nn.Sequential(
            nn.Flatten(), nn.Linear(channels_in * settings.pooled_side ** 2, settings.feature_dim), nn.ReLU())
        self.classifier = nn.Linear(settings.feature_dim, num_classes)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Penultimate features (N, feature_dim) and class logits (N, num_classes) of float images in [0, 1]."""
        features = self.feature_layer(self.convolutions(images))
        return features, self.classifier(features)


def train_feature_network(images: Tensor, labels: Tensor, num_classes: int, settings: FeatureNetworkSettings,
                          device: torch.device, report: Callable[[str], None] = print) -> FeatureNetwork:
    """Train a FeatureNetwork on uint8 `images` (N, C, H, W) and `labels` (N,) with Adam and cross-entropy, seeded;
    `report` receives one line per epoch (loss, training accuracy, seconds). In float32 whatever autocast the caller
    runs under: every machine must train the same network for FIDs to compare, and under CPU bfloat16 autocast this
    network does not learn at all (chance accuracy after 3 epochs, seen on an AMD EPYC with avx512_bf16)."""
    generator = torch.Generator().manual_seed(settings.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        network = FeatureNetwork(images.shape[1], num_classes, settings).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    network.train()
    batches = math.ceil(len(images) / settings.batch_size)
    with torch.autocast(device.type, enabled=False):
        for epoch in range(settings.epochs):
            start, loss_sum, correct = time.perf_counter(), 0.0, 0
            for chosen in torch.randperm(len(images), generator=generator).split(settings.batch_size):
                batch, target = _as_float(images[chosen]).to(device), labels[chosen].to(device)
                logits = network(batch)[1]
                loss = F.cross_entropy(logits, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(chosen)
                correct += int((logits.argmax(1) == target).sum())
            report(f"  epoch {epoch + 1}/{settings.epochs}: {batches} batches, loss {loss_sum / len(images):.4f}, "
                   f"training accuracy {correct / len(images):.4f} ({time.perf_counter() - start:.0f} s)")
    return network.eval()


@torch.no_grad()
def extract(network: FeatureNetwork, images: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    """Features and logits, on the CPU in float32, of images (N, C, H, W): uint8, or float in [0, 1]. In float32
    whatever autocast the caller runs under, so the numbers do not depend on the machine's bfloat16 units."""
    device = next(network.parameters()).device
    was_training = network.training
    network.eval()
    features, logits = [], []
    with torch.autocast(device.type, enabled=False):
        for batch in images.split(batch_size):
            batch_features, batch_logits = network(_as_float(batch).to(device))
            features.append(batch_features.float().cpu())
            logits.append(batch_logits.float().cpu())
    network.train(was_training)
    return torch.cat(features), torch.cat(logits)


def accuracy(network: FeatureNetwork, images: Tensor, labels: Tensor, batch_size: int) -> float:
    """The share of `images` whose most likely class is their label."""
    return float((extract(network, images, batch_size)[1].argmax(1) == labels).double().mean())


def _as_float(images: Tensor) -> Tensor:
    return images.float().div(255) if images.dtype == torch.uint8 else images.float()
