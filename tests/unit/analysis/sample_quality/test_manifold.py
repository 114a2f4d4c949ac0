import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from vae_lightning.analysis.sample_quality import manifold
from vae_lightning.analysis.sample_quality.manifold import knn_radii, precision_recall


def blob(n: int, centre: float, seed: int, dim: int = 4) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) + centre


def test_knn_radii_match_scikit_learn_across_chunks(monkeypatch):
    monkeypatch.setattr(manifold, "CHUNK_ROWS", 7)  # several chunks on a small set
    points = blob(50, 0.0, seed=1)
    distances, _ = NearestNeighbors(n_neighbors=4).fit(points.numpy()).kneighbors(points.numpy())
    assert torch.allclose(knn_radii(points, 3), torch.from_numpy(distances[:, 3]).float(), atol=1e-4)


def test_knn_radii_need_more_points_than_k():
    with pytest.raises(ValueError, match=r"k=3 needs at least k \+ 1 = 4 points, got 3"):
        knn_radii(blob(3, 0.0, seed=1), 3)


def test_a_set_against_itself_has_precision_and_recall_one():
    points = blob(300, 0.0, seed=1)
    assert precision_recall(points, points, k=3) == (1.0, 1.0)


def test_a_set_against_a_disjoint_mode_has_precision_and_recall_zero():
    assert precision_recall(blob(300, 0.0, seed=1), blob(300, 50.0, seed=2), k=3) == (0.0, 0.0)


def test_samples_of_one_of_two_modes_are_precise_but_recall_half(monkeypatch):
    monkeypatch.setattr(manifold, "CHUNK_ROWS", 64)
    reference = torch.cat([blob(300, 0.0, seed=1), blob(300, 50.0, seed=2)])
    result = precision_recall(blob(300, 0.0, seed=3), reference, k=3)
    assert result.precision > 0.9
    assert result.recall == pytest.approx(0.5, abs=0.06)


def test_precision_falls_as_noise_is_added_to_the_samples():
    reference = blob(400, 0.0, seed=1)
    clean = blob(400, 0.0, seed=2)
    noise = torch.randn(400, 4, generator=torch.Generator().manual_seed(3))
    precisions = [precision_recall(clean + level * noise, reference, k=3).precision for level in (0.0, 1.0, 2.0, 4.0)]
    assert precisions == sorted(precisions, reverse=True) and precisions[0] > precisions[-1] + 0.5
