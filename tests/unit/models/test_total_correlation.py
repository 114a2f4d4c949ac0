import math

import pytest
import torch

from vae_lightning.errors import ConfigError
from vae_lightning.models.total_correlation import (
    TCDecomposition,
    decompose_kl,
    estimate_log_aggregate,
    gaussian_log_density,
    mss_log_weights,
    pairwise_log_density,
    tcvae_loss,
)

ESTIMATORS = ["mss", "mws"]


def _posterior_batch(mu: torch.Tensor, variance: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z, mu, log_var) with one sample z_i ~ N(mu_i, variance·I) per row, in float64."""
    generator = torch.Generator().manual_seed(seed)
    log_var = torch.full_like(mu, math.log(variance))
    z = mu + math.sqrt(variance) * torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    return z, mu, log_var


def _correlated_means(batch_size: int, rho: float, seed: int) -> torch.Tensor:
    """Posterior means (B, 2) whose two dimensions have correlation rho across the batch."""
    generator = torch.Generator().manual_seed(seed)
    u, v = torch.randn(2, batch_size, generator=generator, dtype=torch.float64)
    return torch.stack([u, rho * u + math.sqrt(1 - rho**2) * v], dim=1)


def _brute_force_log_aggregate(z, mu_all, log_var_all) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact log q(z_i) and log q(z_i,d) under q(z) = (1/N) Σ_n q(z|x_n) over a whole known dataset."""
    log_pairs = pairwise_log_density(z, mu_all, log_var_all)
    log_n = math.log(mu_all.shape[0])
    return torch.logsumexp(log_pairs.sum(2), dim=1) - log_n, torch.logsumexp(log_pairs, dim=1) - log_n


def test_gaussian_log_density_matches_torch_normal():
    z, mu, log_var = torch.randn(3, 5, 4, dtype=torch.float64)
    expected = torch.distributions.Normal(mu, (0.5 * log_var).exp()).log_prob(z)
    torch.testing.assert_close(gaussian_log_density(z, mu, log_var), expected)


def test_pairwise_log_density_scores_sample_i_under_posterior_j():
    z, mu, log_var = torch.randn(3, 6, 4, dtype=torch.float64)
    pairs = pairwise_log_density(z, mu, log_var)
    assert pairs.shape == (6, 6, 4)
    torch.testing.assert_close(pairs[2, 5], gaussian_log_density(z[2], mu[5], log_var[5]))
    torch.testing.assert_close(pairs.diagonal(dim1=0, dim2=1).T, gaussian_log_density(z, mu, log_var))


def test_mss_weights_match_chen_et_al_appendix_c2():
    batch_size, dataset_size = 4, 10
    others = batch_size - 1
    weights = mss_log_weights(batch_size, dataset_size).exp()
    strat = (dataset_size - others) / (dataset_size * others)
    expected = torch.tensor(
        [
            [1 / 10, strat, 1 / 3, 1 / 3],
            [1 / 3, 1 / 10, strat, 1 / 3],
            [1 / 3, 1 / 3, 1 / 10, strat],
            [strat, 1 / 3, 1 / 3, 1 / 10],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(weights.sum(1), torch.ones(batch_size, dtype=torch.float64))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_decomposition_sums_to_single_sample_kl(estimator):
    mu = 1.5 * torch.randn(64, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z, mu, log_var = _posterior_batch(mu, variance=0.3, seed=2)
    terms = decompose_kl(z, mu, log_var, dataset_size=1000, estimator=estimator)
    log_qz_given_x = torch.distributions.Normal(mu, (0.5 * log_var).exp()).log_prob(z).sum(1)
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    torch.testing.assert_close(
        terms.mutual_info + terms.total_correlation + terms.dimwise_kl, log_qz_given_x - log_pz, rtol=0, atol=1e-10
    )
    assert all(term.shape == (64,) for term in terms[:3])
    torch.testing.assert_close(terms.dimwise_kl_per_dim.sum(), terms.dimwise_kl.mean())


def test_mss_terms_are_zero_when_every_posterior_is_the_prior():
    z = torch.randn(256, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    terms = decompose_kl(z, torch.zeros_like(z), torch.zeros_like(z), dataset_size=256, estimator="mss")
    for term in terms:
        torch.testing.assert_close(term, torch.zeros_like(term), rtol=0, atol=1e-10)


def test_mws_terms_are_offset_by_log_n_when_every_posterior_is_the_prior():
    """MWS weights 1/(B·N) sum to 1/N per image, so identical posteriors give q(z) and each q(z_d) N times too small."""
    batch_size, latent_dim, dataset_size = 256, 3, 1000
    z = torch.randn(batch_size, latent_dim, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    terms = decompose_kl(z, torch.zeros_like(z), torch.zeros_like(z), dataset_size=dataset_size, estimator="mws")
    log_n = math.log(dataset_size)
    ones = torch.ones(batch_size, dtype=torch.float64)
    torch.testing.assert_close(terms.mutual_info, log_n * ones)
    torch.testing.assert_close(terms.total_correlation, (latent_dim - 1) * log_n * ones)
    torch.testing.assert_close(terms.dimwise_kl, -latent_dim * log_n * ones)


def test_mss_tc_matches_gaussian_total_correlation_and_grows_with_correlation():
    variance, batch_size = 0.1, 512
    estimates = []
    for rho in [0.0, 0.5, 0.9, 0.99]:
        z, mu, log_var = _posterior_batch(_correlated_means(batch_size, rho, seed=5), variance, seed=6)
        tc = decompose_kl(z, mu, log_var, dataset_size=batch_size, estimator="mss").total_correlation.mean().item()
        # The aggregate is close to N(0, [[1 + σ², ρ], [ρ, 1 + σ²]]), whose TC is −½ log(1 − ρ²/(1 + σ²)²).
        assert tc == pytest.approx(-0.5 * math.log(1 - rho**2 / (1 + variance) ** 2), abs=0.1)
        estimates.append(tc)
    assert abs(estimates[0]) < 0.05
    assert estimates == sorted(estimates) and estimates[-1] > 0.6


def test_mws_tc_also_grows_with_correlation():
    variance, batch_size = 0.1, 256
    estimates = []
    for rho in [0.0, 0.9, 0.99]:
        z, mu, log_var = _posterior_batch(_correlated_means(batch_size, rho, seed=7), variance, seed=8)
        estimates.append(decompose_kl(z, mu, log_var, batch_size, "mws").total_correlation.mean().item())
    assert estimates[1] - estimates[0] > 0.3 and estimates[2] - estimates[1] > 0.1


def test_mws_on_the_whole_dataset_is_brute_force_minus_log_batch_size():
    dataset_size = 64
    mu = 1.5 * torch.randn(dataset_size, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    z, mu, log_var = _posterior_batch(mu, variance=0.3, seed=10)
    exact_joint, exact_marginals = _brute_force_log_aggregate(z, mu, log_var)
    joint, marginals = estimate_log_aggregate(pairwise_log_density(z, mu, log_var), dataset_size, "mws")
    torch.testing.assert_close(joint, exact_joint - math.log(dataset_size))
    torch.testing.assert_close(marginals, exact_marginals - math.log(dataset_size))


def test_mss_on_the_whole_dataset_is_close_to_brute_force_but_not_exact():
    """With N = B the MSS weights are 1/N (self), 1/(N−1) (B − 2 others) and 1/(N(N−1)) (one other), not all 1/N."""
    dataset_size = 64
    mu = 1.5 * torch.randn(dataset_size, 3, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    z, mu, log_var = _posterior_batch(mu, variance=0.3, seed=12)
    exact_joint, exact_marginals = _brute_force_log_aggregate(z, mu, log_var)
    joint, marginals = estimate_log_aggregate(pairwise_log_density(z, mu, log_var), dataset_size, "mss")
    assert (joint - exact_joint).abs().mean() < 0.05
    assert (marginals - exact_marginals).abs().mean() < 0.05
    assert (joint - exact_joint).abs().max() > 1e-6


def test_mss_from_sampled_minibatches_is_close_to_brute_force_and_closer_than_mws():
    dataset_size, batch_size, latent_dim = 2000, 256, 3
    generator = torch.Generator().manual_seed(13)
    mu_all = 1.5 * torch.randn(dataset_size, latent_dim, generator=generator, dtype=torch.float64)
    log_var_all = torch.full_like(mu_all, math.log(0.3))
    errors = {"mss": [], "mws": []}
    for _ in range(8):
        index = torch.randperm(dataset_size, generator=generator)[:batch_size]
        mu, log_var = mu_all[index], log_var_all[index]
        z = mu + (0.5 * log_var).exp() * torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        exact_joint, exact_marginals = _brute_force_log_aggregate(z, mu_all, log_var_all)
        for estimator, per_batch in errors.items():
            joint, marginals = estimate_log_aggregate(pairwise_log_density(z, mu, log_var), dataset_size, estimator)
            per_batch.append(torch.stack([(joint - exact_joint).mean(), (marginals - exact_marginals).mean()]))
    mss_bias, mws_bias = (torch.stack(errors[name]).mean(0).abs() for name in ("mss", "mws"))
    assert (mss_bias < 0.2).all()
    assert (mws_bias > math.log(batch_size)).all()


def test_tcvae_loss_weights_each_term():
    terms = TCDecomposition(
        mutual_info=torch.tensor([1.0]),
        total_correlation=torch.tensor([2.0]),
        dimwise_kl=torch.tensor([3.0]),
        dimwise_kl_per_dim=torch.tensor([3.0]),
    )
    recon = torch.tensor([10.0])
    assert tcvae_loss(recon, terms, beta=1.0).item() == pytest.approx(16.0)
    assert tcvae_loss(recon, terms, beta=6.0).item() == pytest.approx(26.0)
    assert tcvae_loss(recon, terms, beta=6.0, alpha=0.0, gamma=2.0).item() == pytest.approx(28.0)


def test_unknown_estimator_is_a_config_error():
    z = torch.zeros(4, 2)
    with pytest.raises(ConfigError, match="model.tc_estimator='mcmc'"):
        decompose_kl(z, z, z, dataset_size=10, estimator="mcmc")


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_dataset_smaller_than_batch_is_a_config_error(estimator):
    z = torch.zeros(8, 2)
    with pytest.raises(ConfigError, match="model.tc_estimator.*dataset_size=4"):
        decompose_kl(z, z, z, dataset_size=4, estimator=estimator)


def test_mss_with_a_single_image_batch_is_a_config_error():
    z = torch.zeros(1, 2)
    with pytest.raises(ConfigError, match="at least 2 images"):
        decompose_kl(z, z, z, dataset_size=10, estimator="mss")


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_terms_and_gradients_stay_finite_for_far_apart_sharp_posteriors_in_float32(estimator):
    mu = (20 * torch.randn(128, 4, generator=torch.Generator().manual_seed(14))).requires_grad_()
    log_var = torch.full((128, 4), -12.0, requires_grad=True)
    z = mu + (0.5 * log_var).exp() * torch.randn(128, 4, generator=torch.Generator().manual_seed(15))
    terms = decompose_kl(z, mu, log_var, dataset_size=60000, estimator=estimator)
    tcvae_loss(torch.zeros(128), terms, beta=6.0).mean().backward()
    assert all(torch.isfinite(term).all() for term in terms)
    assert torch.isfinite(mu.grad).all() and torch.isfinite(log_var.grad).all()
