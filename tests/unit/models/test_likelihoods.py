import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vae_lightning.errors import ConfigError
from vae_lightning.models.likelihoods import (
    NUM_LEVELS,
    BernoulliLikelihood,
    ContinuousBernoulliLikelihood,
    DiscretizedLogisticMixtureLikelihood,
    GaussianLikelihood,
    bits_per_dim,
    continuous_bernoulli_log_normalizer,
    continuous_bernoulli_mean,
    dequantize,
    describe,
    make_likelihood,
)

CB_LOGITS = [0.0, 1e-6, -1e-6, 1e-3, -1e-3, 0.0999, -0.1, 0.1001, 0.5, -2.0, 10.0, -40.0, 80.0]


def integrate(f, lo: float = 0.0, hi: float = 1.0, panels: int = 200, nodes: int = 20) -> torch.Tensor:
    """∫ f over [lo, hi] by composite Gauss–Legendre in float64; f maps (N,) points to (N, ...) values."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(lo, hi, panels + 1)
    half = (edges[1:] - edges[:-1])[:, None] / 2
    points = torch.from_numpy(((edges[:-1, None] + edges[1:, None]) / 2 + half * t).ravel())
    weights = torch.from_numpy((half * w).ravel())
    values = f(points)
    return (weights.view(-1, *[1] * (values.dim() - 1)) * values).sum(0)


def pixel_nll(likelihood, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """−log p of each value in x (N,) for one pixel whose decoder output is `params` (P,): (N,) in float64."""
    output = params.to(torch.float64).view(1, -1, 1, 1).expand(len(x), -1, 1, 1)
    return likelihood.neg_log_likelihood(output, x.to(torch.float64).view(-1, 1, 1, 1))


@pytest.mark.parametrize("logit", [-20.0, -1.0, 0.0, 3.0, 20.0])
def test_bernoulli_masses_sum_to_one_over_binary_pixels(logit):
    nll = pixel_nll(BernoulliLikelihood(), torch.tensor([logit]), torch.tensor([0.0, 1.0]))
    assert torch.exp(-nll).sum().item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("logit", CB_LOGITS)
def test_continuous_bernoulli_density_integrates_to_one(logit):
    total = integrate(lambda x: torch.exp(-pixel_nll(ContinuousBernoulliLikelihood(), torch.tensor([logit]), x)))
    assert total.item() == pytest.approx(1.0, abs=1e-4)


def test_continuous_bernoulli_normalizer_matches_closed_form_in_lambda():
    # In λ the closed form itself rounds away for |η| ≳ 30 (1 − 2λ = ±1 in float64): there C → |η|, its limit.
    logits = torch.tensor([c for c in CB_LOGITS if 0 < abs(c) <= 10], dtype=torch.float64)
    lam = torch.sigmoid(logits)
    closed_form = torch.log(2 * torch.atanh(1 - 2 * lam) / (1 - 2 * lam))
    torch.testing.assert_close(continuous_bernoulli_log_normalizer(logits), closed_form, rtol=0, atol=1e-8)
    assert continuous_bernoulli_log_normalizer(torch.tensor([0.0])).item() == pytest.approx(math.log(2), abs=1e-7)
    extreme = torch.tensor([-40.0, 80.0], dtype=torch.float64)
    torch.testing.assert_close(continuous_bernoulli_log_normalizer(extreme), extreme.abs().log(), rtol=0, atol=1e-12)


def test_continuous_bernoulli_normalizer_is_as_accurate_in_float32_near_one_half():
    logits = torch.tensor(CB_LOGITS, dtype=torch.float64)
    exact = continuous_bernoulli_log_normalizer(logits)
    torch.testing.assert_close(continuous_bernoulli_log_normalizer(logits.float()).double(), exact, rtol=0, atol=2e-6)


def test_continuous_bernoulli_log_prob_matches_torch_distribution():
    # torch clamps λ to [eps, 1 − eps] in its normaliser, so beyond |η| ≈ 36 it is not the exact density.
    logits = torch.tensor([c for c in CB_LOGITS if abs(c) <= 30], dtype=torch.float64).view(1, -1, 1, 1)
    x = torch.tensor([0.0, 0.013, 0.25, 0.5, 0.77, 0.999, 1.0], dtype=torch.float64).view(-1, 1, 1, 1)
    expected = torch.distributions.ContinuousBernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    pixels = x.expand(-1, logits.shape[1], 1, 1)
    ours = -ContinuousBernoulliLikelihood().neg_log_likelihood(logits.expand(len(x), -1, 1, 1), pixels)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("logit", CB_LOGITS)
def test_continuous_bernoulli_mean_matches_integral_of_x_times_density(logit):
    likelihood = ContinuousBernoulliLikelihood()
    expected = integrate(lambda x: x * torch.exp(-pixel_nll(likelihood, torch.tensor([logit]), x)))
    mean = likelihood.mean(torch.tensor([[[[logit]]]], dtype=torch.float64))
    assert mean.item() == pytest.approx(expected.item(), abs=1e-6)


def test_continuous_bernoulli_lambda_is_not_its_mean():
    logit = torch.tensor(2.0, dtype=torch.float64)
    # λ = 0.881, the mean λ/(2λ − 1) + 1/(2 artanh(1 − 2λ)) = 0.6565.
    assert continuous_bernoulli_mean(logit).item() == pytest.approx(0.65651, abs=1e-5)
    assert torch.sigmoid(logit).item() == pytest.approx(0.88080, abs=1e-5)


def test_continuous_bernoulli_gradients_are_finite_at_one_half():
    leaf = torch.tensor([0.0, 1e-7, 0.1, 60.0], requires_grad=True)
    logits = leaf.view(1, 4, 1, 1)
    likelihood = ContinuousBernoulliLikelihood()
    (likelihood.neg_log_likelihood(logits, torch.full((1, 4, 1, 1), 0.3)) + likelihood.mean(logits).sum()).backward()
    logits = leaf
    assert torch.isfinite(logits.grad).all()


def test_continuous_bernoulli_samples_have_its_mean():
    logits = torch.tensor([-3.0, 0.0, 1e-4, 0.7, 5.0]).view(1, 5, 1, 1).expand(40000, 5, 1, 1)
    likelihood = ContinuousBernoulliLikelihood()
    draws = likelihood.sample(logits, torch.Generator().manual_seed(0))
    assert draws.min() >= 0 and draws.max() <= 1
    torch.testing.assert_close(draws.mean(0), likelihood.mean(logits[:1])[0], rtol=0, atol=5e-3)


def logistic_output(weights, locs, log_scales) -> torch.Tensor:
    """Decoder output of one 1-channel pixel: (1, 3K, 1, 1) in float64."""
    return torch.tensor([*weights, *locs, *log_scales], dtype=torch.float64).view(1, -1, 1, 1)


DL_PARAMETERS = [
    ([0.0], [0.5], [-3.0]),  # a plain discretised logistic in the middle
    ([0.0], [0.0], [-8.0]),  # a scale of a ninth of a bin on an edge bin
    ([0.0], [1.7], [-2.0]),  # location outside [0, 1]
    ([0.0], [0.3], [4.0]),  # a scale far wider than [0, 1]: the mid-bin branch
    ([1.0, -2.0, 0.5], [0.1, 0.5, 0.93], [-5.0, -1.0, -7.5]),
    ([0.0, 0.0, 0.0, 0.0, 0.0], [-0.2, 0.2, 0.4, 0.6, 1.3], [-6.0, -4.0, -3.0, -2.0, 0.0]),
]


@pytest.mark.parametrize(("weights", "locs", "log_scales"), DL_PARAMETERS)
def test_discretized_logistic_masses_sum_to_one_over_256_levels(weights, locs, log_scales):
    likelihood = DiscretizedLogisticMixtureLikelihood(len(weights))
    levels = torch.arange(NUM_LEVELS, dtype=torch.float64) / (NUM_LEVELS - 1)
    nll = pixel_nll(likelihood, logistic_output(weights, locs, log_scales).flatten(), levels)
    assert torch.exp(-nll).sum().item() == pytest.approx(1.0, abs=1e-6)


def test_discretized_logistic_mass_matches_logistic_cdf_differences():
    loc, scale = 0.42, 0.05
    levels = torch.arange(NUM_LEVELS, dtype=torch.float64) / (NUM_LEVELS - 1)
    edges = torch.cat([torch.tensor([-math.inf]), (levels[:-1] + levels[1:]) / 2, torch.tensor([math.inf])])
    cdf = torch.sigmoid((edges.double() - loc) / scale)
    nll = pixel_nll(DiscretizedLogisticMixtureLikelihood(1), logistic_output([0.0], [loc], [math.log(scale)]).flatten(),
                    levels)
    torch.testing.assert_close(nll, -torch.log(cdf[1:] - cdf[:-1]), rtol=1e-9, atol=0)


@pytest.mark.parametrize(("weights", "locs", "log_scales"), DL_PARAMETERS)
def test_discretized_logistic_mean_is_the_mean_of_the_level_masses(weights, locs, log_scales):
    likelihood = DiscretizedLogisticMixtureLikelihood(len(weights))
    output = logistic_output(weights, locs, log_scales)
    levels = torch.arange(NUM_LEVELS, dtype=torch.float64) / (NUM_LEVELS - 1)
    masses = torch.exp(-pixel_nll(likelihood, output.flatten(), levels))
    assert likelihood.mean(output).item() == pytest.approx((levels * masses).sum().item(), abs=1e-6)


def test_discretized_logistic_gradients_are_finite_on_edges_and_extremes():
    likelihood = DiscretizedLogisticMixtureLikelihood(2)
    output = (torch.randn(3, 6 * 2, 4, 4, generator=torch.Generator().manual_seed(0)) * 30).requires_grad_()
    x = torch.randint(0, 256, (3, 2, 4, 4), generator=torch.Generator().manual_seed(1)).float() / 255
    x[:, :, 0] = 0.0
    x[:, :, 1] = 1.0
    likelihood.neg_log_likelihood(output, x).sum().backward()
    assert torch.isfinite(output.grad).all()


def test_discretized_logistic_samples_are_levels_with_the_model_masses():
    likelihood = DiscretizedLogisticMixtureLikelihood(2)
    output = logistic_output([0.3, -0.3], [0.2, 0.7], [-3.0, -4.0]).float().expand(20000, -1, 1, 1)
    draws = likelihood.sample(output, torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws * 255, torch.round(draws * 255))
    assert draws.mean().item() == pytest.approx(likelihood.mean(output[:1]).item(), abs=5e-3)


@pytest.mark.parametrize(("mean_logit", "sigma"), [(0.0, 0.1), (-3.0, 0.01), (2.0, 0.5)])
def test_gaussian_density_integrates_to_one(mean_logit, sigma):
    likelihood = GaussianLikelihood(sigma)
    mean = torch.sigmoid(torch.tensor(mean_logit)).item()
    total = integrate(lambda x: torch.exp(-pixel_nll(likelihood, torch.tensor([mean_logit]), x)),
                      mean - 12 * sigma, mean + 12 * sigma)
    assert total.item() == pytest.approx(1.0, abs=1e-4)


def test_dequantize_puts_each_pixel_uniformly_in_its_own_bin():
    k = torch.tensor([0.0, 1.0, 128.0, 255.0]).repeat(5000)
    x_tilde = dequantize(k / 255, torch.Generator().manual_seed(0))
    assert torch.equal(torch.floor(x_tilde * NUM_LEVELS), k)
    offsets = (x_tilde * NUM_LEVELS - k).view(5000, 4)
    torch.testing.assert_close(offsets.mean(0), torch.full((4,), 0.5), rtol=0, atol=0.015)


@pytest.mark.parametrize("sigma", [0.002, 0.02, 0.3])
def test_dequantized_gaussian_bits_per_dim_bound_lies_above_discrete_mass(sigma):
    likelihood = GaussianLikelihood(sigma, dequantize=True).double()
    mean_logit = torch.tensor([0.4], dtype=torch.float64)
    mean = torch.sigmoid(mean_logit)
    normal = torch.distributions.Normal(mean, likelihood.log_sigma.exp())  # σ as the float32 buffer holds it
    nearest = int(mean * NUM_LEVELS)
    for k in (nearest - 3, nearest - 1, nearest, nearest + 1, nearest + 3):
        bin_mass = normal.cdf(torch.tensor((k + 1) / NUM_LEVELS)) - normal.cdf(torch.tensor(k / NUM_LEVELS))
        discrete_bits = -torch.log2(bin_mass).item()
        nats = integrate(lambda u, k=k: pixel_nll(likelihood, mean_logit, (k + u) / NUM_LEVELS), panels=20)
        bound_bits = bits_per_dim(likelihood.discrete_nats(nats, num_dims=1), num_dims=1).item()
        assert bound_bits >= discrete_bits - 1e-9
        assert bound_bits == pytest.approx(nats.item() / math.log(2) + 8, abs=1e-12)


def test_dequantized_gaussian_bound_is_tight_for_wide_sigma():
    likelihood = GaussianLikelihood(0.3, dequantize=True).double()
    mean_logit = torch.tensor([0.0], dtype=torch.float64)
    normal = torch.distributions.Normal(torch.tensor(0.5, dtype=torch.float64), likelihood.log_sigma.exp())
    bin_mass = normal.cdf(torch.tensor(101 / 256)) - normal.cdf(torch.tensor(100 / 256))
    nats = integrate(lambda u: pixel_nll(likelihood, mean_logit, (100 + u) / NUM_LEVELS), panels=20)
    assert likelihood.discrete_nats(nats, 1).item() == pytest.approx(-torch.log(bin_mass).item(), abs=1e-5)


def test_model_target_dequantizes_only_when_asked():
    x = torch.randint(0, 256, (2, 1, 4, 4)).float() / 255
    assert torch.equal(GaussianLikelihood(dequantize=False).model_target(x), x)
    assert torch.equal(BernoulliLikelihood().model_target(x), x)
    assert not torch.equal(GaussianLikelihood(dequantize=True).model_target(x), x)


def test_learned_sigma_is_a_parameter_and_fixed_sigma_is_not():
    assert [n for n, _ in GaussianLikelihood(0.1, learn_sigma=True).named_parameters()] == ["log_sigma"]
    assert list(GaussianLikelihood(0.1).parameters()) == []


def test_bits_per_dim_divides_nats_by_dimensions_and_ln2():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)


@pytest.mark.parametrize(("name", "settings", "channels"), [
    ("bernoulli", {}, 3), ("continuous_bernoulli", {}, 3), ("gaussian", {}, 3),
    ("discretized_logistic", {"num_mixtures": 1}, 9), ("discretized_logistic", {"num_mixtures": 5}, 45),
])
def test_decoder_channels_per_likelihood(name, settings, channels):
    assert make_likelihood(name, **settings).decoder_channels(3) == channels


def test_bernoulli_matches_binary_cross_entropy():
    logits, x = torch.randn(2, 1, 3, 3), torch.rand(2, 1, 3, 3)
    expected = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(make_likelihood("bernoulli").neg_log_likelihood(logits, x), expected)


@pytest.mark.parametrize(("name", "settings", "key"), [
    ("bce", {}, "model.likelihood"),
    ("gaussian", {"gaussian_sigma": 0.0}, "model.gaussian_sigma"),
    ("gaussian", {"gaussian_sigma": -1.0}, "model.gaussian_sigma"),
    ("gaussian", {"gaussian_sigma": math.nan}, "model.gaussian_sigma"),
    ("gaussian", {"gaussian_sigma": math.inf}, "model.gaussian_sigma"),
    ("discretized_logistic", {"num_mixtures": 0}, "model.num_mixtures"),
    ("discretized_logistic", {"num_mixtures": 2.5}, "model.num_mixtures"),
    ("discretized_logistic", {"num_mixtures": True}, "model.num_mixtures"),
])
def test_bad_settings_raise_config_error_naming_the_key(name, settings, key):
    with pytest.raises(ConfigError, match=key):
        make_likelihood(name, **settings)


def test_unknown_likelihood_error_lists_every_choice():
    with pytest.raises(ConfigError) as error:
        make_likelihood("normal")
    for name in ("bernoulli", "continuous_bernoulli", "discretized_logistic", "gaussian"):
        assert f"'{name}'" in str(error.value)


def test_describe_calls_bernoulli_on_grey_pixels_a_reconstruction_loss():
    grey = describe(make_likelihood("bernoulli"), data_is_binary=False)
    binary = describe(make_likelihood("bernoulli"), data_is_binary=True)
    assert not grey["normalised"] and "not a likelihood" in grey["quantity"]
    assert binary["normalised"] and binary["quantity"].startswith("-log p(x|z)")


def test_describe_says_which_numbers_give_bits_per_dim():
    assert describe(make_likelihood("discretized_logistic"), data_is_binary=False)["bits_per_dim"]
    assert describe(make_likelihood("gaussian", dequantize=True), data_is_binary=False)["bits_per_dim"]
    assert not describe(make_likelihood("gaussian", dequantize=False), data_is_binary=False)["bits_per_dim"]
    report = describe(make_likelihood("continuous_bernoulli"), data_is_binary=False)
    assert report["normalised"] and report["density"] and not report["bits_per_dim"]


def test_discrete_nats_pass_a_discrete_mass_through_and_refuse_densities():
    nats = torch.tensor([1000.0])
    assert make_likelihood("discretized_logistic").discrete_nats(nats, 784).item() == 1000.0
    for name, settings in (("bernoulli", {}), ("continuous_bernoulli", {}), ("gaussian", {"dequantize": False})):
        with pytest.raises(ConfigError, match="bits/dim"):
            make_likelihood(name, **settings).discrete_nats(nats, 784)
