import numpy as np
import pytest
import scipy.linalg
import torch

from vae_lightning.analysis.sample_quality.frechet import (
    GaussianFit,
    fid,
    fid_with_bootstrap,
    fit_gaussian,
    frechet_distance,
)


def correlated(n: int, dim: int = 6, shift: float = 0.0, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Draws of one fixed correlated Gaussian (the mixing matrix does not depend on `seed`), shifted and scaled."""
    mixing = torch.randn(dim, dim, generator=torch.Generator().manual_seed(99))
    draws = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) @ mixing
    return draws * scale + shift


def pytorch_fid_formula(a: torch.Tensor, b: torch.Tensor) -> float:
    """The reference formula as pytorch-fid writes it (Seitzer 2020): np.cov, scipy's sqrtm of the product."""
    a, b = a.double().numpy(), b.double().numpy()
    mu1, mu2, sigma1, sigma2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    mean_a, mean_b = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    distance = frechet_distance(GaussianFit(mean_a.double(), torch.diag(var_a).double()),
                                GaussianFit(mean_b.double(), torch.diag(var_b).double()))
    expected = (mean_a - mean_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum()
    assert distance == pytest.approx(float(expected), rel=1e-9)


def test_fid_agrees_with_the_scipy_sqrtm_formula_of_pytorch_fid():
    a, b = correlated(2000, seed=1), correlated(2000, shift=0.3, scale=1.5, seed=2)
    assert fid(a, b) == pytest.approx(pytorch_fid_formula(a, b), rel=1e-6)


def test_fid_survives_a_singular_covariance():
    a = correlated(500, seed=1)
    a[:, 0] = 0.0  # a dead feature, as a ReLU unit can be
    assert fid(a, a) == pytest.approx(0.0, abs=1e-8)
    assert fid(a, correlated(500, seed=2)) > 0


def test_fid_of_a_set_with_itself_is_zero_within_its_error_bar():
    a = correlated(1000)
    estimate = fid_with_bootstrap(a, a, 20, torch.Generator().manual_seed(0))
    assert estimate.value == pytest.approx(0.0, abs=1e-8)
    assert estimate.value <= estimate.bootstrap_std
    assert estimate.num_resamples == 20


def test_fid_between_two_draws_of_one_distribution_is_small_and_against_noise_large():
    train, test = correlated(2000, seed=1), correlated(2000, seed=2)
    noise = torch.rand(2000, 6, generator=torch.Generator().manual_seed(3)) * 10
    same = fid_with_bootstrap(train, test, 20, torch.Generator().manual_seed(0))
    assert same.value < 3 * same.bootstrap_std + 0.2
    assert fid(noise, test) > 50 * same.value


def test_fid_grows_with_the_shift_and_the_spread_of_the_samples():
    test = correlated(2000, seed=1)
    by_shift = [fid(correlated(2000, shift=shift, seed=2), test) for shift in (0.0, 0.5, 1.0, 2.0)]
    by_scale = [fid(correlated(2000, scale=scale, seed=2), test) for scale in (1.0, 1.5, 2.0, 3.0)]
    assert by_shift == sorted(by_shift) and by_scale == sorted(by_scale)


def test_the_bootstrap_is_repeatable_with_the_same_generator():
    a, b = correlated(300, seed=1), correlated(300, shift=0.5, seed=2)
    first = fid_with_bootstrap(a, b, 10, torch.Generator().manual_seed(5))
    assert first == fid_with_bootstrap(a, b, 10, torch.Generator().manual_seed(5))
    assert first.bootstrap_std > 0


def test_fit_gaussian_uses_the_unbiased_covariance():
    features = correlated(50)
    fit = fit_gaussian(features)
    assert torch.allclose(fit.covariance, torch.from_numpy(np.cov(features.double().numpy(), rowvar=False)))
