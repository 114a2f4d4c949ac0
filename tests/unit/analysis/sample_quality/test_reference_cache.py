import pytest
import torch

from vae_lightning.analysis.sample_quality import reference_cache
from vae_lightning.analysis.sample_quality.feature_network import FeatureNetwork, FeatureNetworkSettings, extract
from vae_lightning.analysis.sample_quality.reference_cache import cache_path, reference_features

TINY = FeatureNetworkSettings(channels=(4, 8), feature_dim=8, epochs=1, batch_size=16, learning_rate=1e-2)


@pytest.fixture
def network_and_images(tmp_path):
    torch.manual_seed(0)
    network = FeatureNetwork(1, 3, TINY).eval()
    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
    return network, tmp_path / "halves-0123456789abcdef.pt", images


def test_the_second_read_comes_from_the_file_and_equals_a_fresh_extraction(network_and_images, monkeypatch):
    network, path, images = network_and_images
    first = reference_features(network, path, images, batch_size=16)
    assert cache_path(network, path, images, 16).exists()
    monkeypatch.setattr(reference_cache, "extract", lambda *args: pytest.fail("extracted again"))
    second = reference_features(network, path, images, batch_size=16)
    fresh = extract(network, images, 16)
    for cached, computed in zip(second, fresh, strict=True):
        assert torch.equal(cached, computed)
    assert torch.equal(first.features, second.features)


def test_other_images_or_another_batch_size_get_their_own_file(network_and_images):
    network, path, images = network_and_images
    other = images.clone()
    other[0, 0, 0, 0] ^= 1
    names = {cache_path(network, path, images, 16), cache_path(network, path, other, 16),
             cache_path(network, path, images, 8)}
    assert len(names) == 3


def test_a_damaged_file_is_computed_again_and_replaced(network_and_images):
    network, path, images = network_and_images
    cached = cache_path(network, path, images, 16)
    cached.write_bytes(b"not a torch file")
    features = reference_features(network, path, images, batch_size=16)
    assert torch.equal(features.features, extract(network, images, 16)[0])
    assert torch.load(cached, weights_only=True)["features"].shape == features.features.shape


def test_an_unwritable_cache_folder_costs_only_the_time(network_and_images, tmp_path):
    network, _, images = network_and_images
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        features = reference_features(network, folder / "halves-0123456789abcdef.pt", images, batch_size=16)
    finally:
        folder.chmod(0o700)
    assert features.features.shape[0] == len(images)
