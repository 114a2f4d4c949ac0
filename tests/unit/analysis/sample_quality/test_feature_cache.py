import dataclasses
import re

import pytest
import torch

from vae_lightning.analysis.sample_quality.feature_cache import (
    cache_key,
    feature_network_for,
    training_subset,
)
from vae_lightning.analysis.sample_quality.feature_network import FeatureNetworkSettings
from vae_lightning.data.base import InMemoryImages
from vae_lightning.data.fingerprint import fingerprint as data_fingerprint
from vae_lightning.errors import StorageError

TINY = FeatureNetworkSettings(channels=(4, 8), feature_dim=8, epochs=3, batch_size=16, learning_rate=1e-2)
CLASSES = ("left", "right")


def halves(count: int, seed: int) -> InMemoryImages:
    """8 × 8 images lit on the left half (class 0) or the right half (class 1), with noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 2
    images = torch.randint(0, 60, (count, 1, 8, 8), generator=generator, dtype=torch.uint8)
    for image, label in zip(images, labels.tolist(), strict=True):
        image[0, :, 4 * label : 4 * label + 4] = 255
    return InMemoryImages(images, labels)


def network(cache_dir, lines: list[str], train: InMemoryImages | None = None, **kwargs):
    return feature_network_for("halves", CLASSES, train or halves(64, seed=1), halves(32, seed=2), cache_dir,
                               torch.device("cpu"), TINY, report=lines.append, **kwargs)


def test_the_fingerprint_changes_with_one_pixel_or_one_label():
    data = halves(16, seed=1)
    reference = data_fingerprint(data.images, data.labels)
    pixel, label = data.images.clone(), data.labels.clone()
    pixel[3, 0, 2, 2] += 1
    label[5] = 1 - label[5]
    assert len({reference, data_fingerprint(pixel, data.labels), data_fingerprint(data.images, label)}) == 3
    assert reference == data_fingerprint(data.images.clone(), data.labels.clone())


def test_the_cache_key_changes_with_any_setting_or_the_class_count():
    keys = {cache_key("abc", 2, TINY), cache_key("abc", 3, TINY), cache_key("abd", 2, TINY),
            cache_key("abc", 2, dataclasses.replace(TINY, epochs=2))}
    assert len(keys) == 4


def test_the_network_is_trained_once_then_read_from_the_cache_with_its_test_accuracy(tmp_path):
    first_lines, second_lines = [], []
    first = network(tmp_path, first_lines)
    second = network(tmp_path, second_lines)
    assert any(line.startswith("Training the halves feature network on 64") for line in first_lines)
    assert second_lines == []  # read, not trained
    assert second.path == first.path and first.path.with_suffix(".json").is_file()
    assert second.record == first.record and first.record["test_accuracy"] > 0.9  # the halves are easy to tell apart
    assert first.record["training_data"]["num_images"] == 64 and first.record["num_test_images"] == 32
    for name, weights in first.network.state_dict().items():
        assert torch.equal(weights, second.network.state_dict()[name])


def test_the_network_trains_in_float32_whatever_autocast_the_analysis_runs_under(tmp_path):
    plain = network(tmp_path / "plain", [])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = network(tmp_path / "autocast", [])
    assert under_autocast.record["test_accuracy"] == plain.record["test_accuracy"]
    for name, weights in plain.network.state_dict().items():
        assert torch.equal(weights, under_autocast.network.state_dict()[name]), name


def test_a_network_that_did_not_learn_the_classes_is_said_when_trained_and_when_read(tmp_path):
    train = halves(64, seed=1)
    order = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    shuffled = InMemoryImages(train.images, train.labels[order])  # labels that say nothing of the images
    trained_lines, read_lines = [], []
    network(tmp_path, trained_lines, train=shuffled)
    network(tmp_path, read_lines, train=shuffled)
    warning = r"Warning: the halves feature network reached a test accuracy of only 0\.\d+ \(chance 0\.5000\).*" \
              r"sample_quality\.compute=false\."
    assert re.fullmatch(warning, trained_lines[-1]) and read_lines and re.fullmatch(warning, read_lines[-1])
    clean = []
    network(tmp_path / "clean", clean)  # the halves' own labels: learnt, no warning
    assert not any(line.startswith("Warning") for line in clean)


def test_other_training_data_gets_its_own_network(tmp_path):
    first, other = network(tmp_path, []), network(tmp_path, [], train=halves(64, seed=3))
    assert first.path != other.path and first.path.exists() and other.path.exists()


def test_a_corrupt_cache_file_is_said_and_trained_again(tmp_path):
    path = network(tmp_path, []).path
    path.write_bytes(b"not a checkpoint")
    lines = []
    again = network(tmp_path, lines)
    assert any("cannot be read" in line for line in lines) and any("Training" in line for line in lines)
    assert again.record["test_accuracy"] > 0.9


def test_an_unwritable_cache_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(StorageError, match="could not be cached in .*sample_quality.cache_dir"):
        network(blocker / "cache", [])


def test_a_training_split_larger_than_the_cap_is_a_seeded_subset():
    data = halves(100, seed=1)
    settings = dataclasses.replace(TINY, max_train_images=30)
    images, labels = training_subset(data, settings)
    again, _ = training_subset(data, settings)
    assert len(images) == 30 and len(labels) == 30 and torch.equal(images, again)
    assert training_subset(data, TINY)[0] is data.images
