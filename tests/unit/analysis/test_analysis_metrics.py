import contextlib
import math

import pytest
import torch
from omegaconf import OmegaConf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

from vae_lightning.analysis.interpolation import interpolate, lerp, slerp
from vae_lightning.analysis.likelihood import iwae_log_likelihood, paired_difference
from vae_lightning.analysis.likelihood_numbers import likelihood_numbers
from vae_lightning.analysis.metrics import sample_codes
from vae_lightning.analysis.representation import (
    WARM_START_IMAGES,
    EncodedSplit,
    active_units,
    encode_dataset,
    knn_accuracy,
    linear_probe_accuracy,
    mean_kl_per_dim,
)
from vae_lightning.analysis.smoothness import traversal_smoothness
from vae_lightning.errors import ConfigError
from vae_lightning.models import BetaVAE
from vae_lightning.models.likelihoods import DecoderLikelihood
from vae_lightning.models.objectives import gaussian_kl_per_dim

# A linear-Gaussian model where everything is known in closed form, per dimension:
# p(z) = N(0, 1), p(x | z) = N(z, σ²)  ⇒  p(x) = N(0, 1 + σ²) and p(z | x) = N(x / (1 + σ²), σ² / (1 + σ²)).
SIGMA = 0.5
LATENT_DIM = 2


class IdentityGaussianLikelihood(DecoderLikelihood):
    def neg_log_likelihood(self, decoder_output: Tensor, x: Tensor) -> Tensor:
        per_pixel = 0.5 * ((x - decoder_output) / SIGMA) ** 2 + math.log(SIGMA) + 0.5 * math.log(2 * math.pi)
        return per_pixel.flatten(1).sum(1)


class LinearEncoder(nn.Module):
    """q(z | x) = N(scale · x + shift, exp(log_var)), the same for every dimension."""

    def __init__(self, scale: float, shift: float, log_var: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))
        self.shift, self.log_var = shift, log_var

    def forward(self, x: Tensor, condition: None = None) -> tuple[Tensor, Tensor]:
        mu = self.scale * x.flatten(1) + self.shift
        return mu, torch.full_like(mu, self.log_var)


class LinearGaussianModel(nn.Module):
    def __init__(self, encoder: LinearEncoder) -> None:
        super().__init__()
        self.vae = nn.Module()
        self.vae.encoder = encoder
        self.vae.decoder = lambda z, condition=None: z.view(len(z), 1, 1, LATENT_DIM)
        self.likelihood = IdentityGaussianLikelihood()

    def condition(self, labels: Tensor | None) -> None:
        return None  # unconditional, like BetaVAE

    def log_prior(self, z: Tensor) -> Tensor:
        """log N(z; 0, I), the prior of the linear-Gaussian model."""
        return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)

    def fixed_prior(self) -> contextlib.nullcontext:
        return contextlib.nullcontext()  # nothing of N(0, I) needs computing once


def exact_posterior_model() -> LinearGaussianModel:
    precision = 1 + SIGMA**2
    return LinearGaussianModel(LinearEncoder(1 / precision, 0.0, math.log(SIGMA**2 / precision)))


def wrong_posterior_model() -> LinearGaussianModel:
    """Shifted and overconfident: σ_q² = 0.1 against the true posterior's 0.2, so the weights are heavy-tailed."""
    return LinearGaussianModel(LinearEncoder(0.3, 0.5, math.log(0.1)))


def exact_neg_log_likelihood(x: Tensor) -> Tensor:
    variance = 1 + SIGMA**2
    return (0.5 * x**2 / variance + 0.5 * math.log(2 * math.pi * variance)).flatten(1).sum(1)


def closed_form_neg_elbo(model: LinearGaussianModel, x: Tensor) -> Tensor:
    """E_q[−log p(x | z)] + KL(q ‖ p) for the linear-Gaussian model, with E_q[(x − z)²] = (x − μ)² + σ_q²."""
    mu, log_var = model.vae.encoder(x)
    x = x.flatten(1)
    expected_recon = ((x - mu) ** 2 + log_var.exp()) / (2 * SIGMA**2) + math.log(SIGMA) + 0.5 * math.log(2 * math.pi)
    return (expected_recon + gaussian_kl_per_dim(mu, log_var)).sum(1).detach()


def data(num_images: int, seed: int = 100) -> Tensor:
    """Draws from p(x), with a seed apart from the IWAE noise's so that the noise is independent of the data."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(num_images, 1, 1, LATENT_DIM, generator=generator) * math.sqrt(1 + SIGMA**2)


def iwae(model: nn.Module, images: Tensor, num_samples: int, seed: int = 0, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    return iwae_log_likelihood(model, images, num_samples, batch_size=kwargs.pop("batch_size", 64),
                               generator=generator, **kwargs)


@pytest.mark.parametrize("num_samples", [1, 7])
def test_iwae_with_exact_posterior_equals_log_likelihood_for_every_sample(num_samples):
    images = data(10)
    result = iwae(exact_posterior_model(), images, num_samples, batch_size=4, samples_per_chunk=3)
    torch.testing.assert_close(result.neg_log_likelihood_per_image, exact_neg_log_likelihood(images),
                               atol=1e-4, rtol=0)
    assert result.num_samples == num_samples and result.num_images == 10


def test_iwae_with_wrong_posterior_tightens_towards_log_likelihood_as_k_grows():
    images = data(2000)
    exact = exact_neg_log_likelihood(images).mean().item()
    results = [iwae(wrong_posterior_model(), images, k, batch_size=500) for k in (1, 10, 500)]
    bounds = [result.neg_log_likelihood for result in results]
    assert bounds[0] > bounds[1] > bounds[2] > exact + 5 * results[2].standard_error
    assert bounds[2] - exact < 0.5 * (bounds[0] - exact)


def test_iwae_with_one_sample_is_the_elbo_in_expectation():
    model = wrong_posterior_model()
    images = data(1).expand(4000, -1, -1, -1)
    result = iwae(model, images, num_samples=1, batch_size=1000)
    neg_elbo = closed_form_neg_elbo(model, images[:1]).item()
    assert abs(result.neg_log_likelihood - neg_elbo) < 4 * result.standard_error


def test_iwae_standard_error_is_the_spread_over_images():
    result = iwae(wrong_posterior_model(), data(50), num_samples=3)
    per_image = result.neg_log_likelihood_per_image
    assert result.neg_log_likelihood == pytest.approx(per_image.mean().item(), rel=1e-6)
    assert result.standard_error == pytest.approx(per_image.std().item() / math.sqrt(50), rel=1e-5)


def test_iwae_is_reproducible_from_the_generator_seed():
    images = data(20)
    first, second = iwae(wrong_posterior_model(), images, 5, seed=3), iwae(wrong_posterior_model(), images, 5, seed=3)
    other = iwae(wrong_posterior_model(), images, 5, seed=4)
    assert torch.equal(first.neg_log_likelihood_per_image, second.neg_log_likelihood_per_image)
    assert not torch.equal(first.neg_log_likelihood_per_image, other.neg_log_likelihood_per_image)


def test_iwae_on_the_conv_vae_with_one_sample_matches_its_neg_elbo():
    torch.manual_seed(0)
    model = BetaVAE(image_shape=(1, 8, 8), latent_dim=3, channels=(4,), hidden_dim=16)
    images = torch.rand(1, 1, 8, 8).round().expand(2000, -1, -1, -1)
    result = iwae(model, images, num_samples=1, batch_size=500)
    with torch.no_grad():
        neg_elbo = model.objective(images, None, None)["neg_elbo"].item()
    assert abs(result.neg_log_likelihood - neg_elbo) < 5 * result.standard_error


def test_iwae_is_at_most_the_elbo_of_the_same_draws_for_every_image():
    result = iwae(wrong_posterior_model(), data(200), num_samples=10)
    assert (result.neg_log_likelihood_per_image <= result.neg_elbo_per_image + 1e-6).all()
    assert (result.neg_elbo_per_image - result.neg_log_likelihood_per_image).mean() > 0.05


def test_elbo_on_the_same_draws_estimates_the_closed_form_elbo_per_image():
    model, images = wrong_posterior_model(), data(20)
    result = iwae(model, images, num_samples=4000, batch_size=20)
    torch.testing.assert_close(result.neg_elbo_per_image, closed_form_neg_elbo(model, images), atol=0.1, rtol=0)


@pytest.mark.parametrize(("model", "at_most"), [(wrong_posterior_model, 1.6), (lambda: LinearGaussianModel(
    LinearEncoder(0.75, 0.1, math.log(0.25))), 2.6)])
def test_monte_carlo_variance_bounds_the_spread_of_independent_estimates_of_one_image(model, at_most):
    """Heavy-tailed weights (the wrong posterior) and light-tailed ones (a near-exact q): the half-split estimate is
    at least the true variance and at most ~2× it (the K/2-draw variance)."""
    copies = data(1).expand(2000, -1, -1, -1)  # each copy gets its own draws: their spread is pure Monte Carlo noise
    result = iwae(model(), copies, num_samples=100, batch_size=500)
    observed = result.neg_log_likelihood_per_image.double().var().item()
    estimated = result.mc_variance_per_image.double().mean().item()
    assert 0.9 * observed < estimated < at_most * observed
    assert result.mc_standard_error == pytest.approx(math.sqrt(estimated / 2000), rel=1e-6)


def test_nested_bounds_reuse_the_first_k_draws_and_tighten_towards_log_likelihood():
    images = data(500)
    result = iwae(wrong_posterior_model(), images, num_samples=1000, batch_size=250, nested=(1, 10, 100, 1000))
    torch.testing.assert_close(result.nested[1000], result.neg_log_likelihood_per_image)
    means = [result.nested[k].mean().item() for k in (1, 10, 100, 1000)]
    exact = exact_neg_log_likelihood(images).mean().item()
    assert means[0] > means[1] > means[2] > means[3] > exact
    assert means[3] - exact < 0.2 * (means[0] - exact)


def test_paired_difference_is_the_mean_and_standard_error_of_the_per_image_differences():
    a, b = torch.tensor([3.0, 5.0, 4.0, 6.0]), torch.tensor([1.0, 4.0, 2.0, 5.0])
    difference = paired_difference(a, b)
    assert difference.mean == pytest.approx(1.5)
    assert difference.standard_error == pytest.approx(torch.tensor([2.0, 1.0, 2.0, 1.0]).std().item() / 2)


def test_iwae_rejects_nested_sample_counts_above_k():
    with pytest.raises(ConfigError, match="nested"):
        iwae(exact_posterior_model(), data(2), num_samples=10, nested=(1, 100))


def test_iwae_rejects_zero_samples():
    with pytest.raises(ConfigError, match="num_samples=0"):
        iwae(exact_posterior_model(), data(2), num_samples=0)


def test_encode_dataset_stacks_batches_in_order():
    model = wrong_posterior_model()
    images, labels = data(10), torch.arange(10)
    batches = zip(images.split(4), labels.split(4), strict=True)
    encoded = encode_dataset(model, batches)
    torch.testing.assert_close(encoded.mu, 0.3 * images.flatten(1) + 0.5)
    torch.testing.assert_close(encoded.log_var, torch.full((10, LATENT_DIM), math.log(0.1)))
    assert torch.equal(encoded.labels, labels)


def test_mean_kl_per_dim_averages_the_closed_form_over_images():
    mu = torch.tensor([[0.0, 2.0], [0.0, 0.0]])
    log_var = torch.zeros(2, 2)
    torch.testing.assert_close(mean_kl_per_dim(mu, log_var), torch.tensor([0.0, 1.0]))


def test_active_units_counts_dimensions_whose_mean_varies_above_threshold():
    signs = torch.tensor([-1.0, 1.0, -1.0, 1.0])
    mu = torch.stack([signs, torch.full((4,), 3.0), 0.05 * signs, 0.2 * signs], dim=1)
    variances, active = active_units(mu, threshold=0.01)
    torch.testing.assert_close(variances, torch.tensor([4 / 3, 0.0, 0.0025 * 4 / 3, 0.04 * 4 / 3]))
    assert active.tolist() == [True, False, False, True]


def _split_features(features: Tensor, labels: Tensor, num_train: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return features[:num_train], labels[:num_train], features[num_train:], labels[num_train:]


def test_probes_are_perfect_on_separated_clusters():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat(100)
    centres = 10 * torch.randn(10, 32, generator=generator)
    features = centres[labels] + torch.randn(1000, 32, generator=generator)
    split = _split_features(features, labels, 600)
    assert linear_probe_accuracy(*split, seed=0) == 1.0
    assert knn_accuracy(*split, k=5) == 1.0


def test_probes_are_near_chance_on_noise():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat(300)
    features = torch.randn(3000, 32, generator=generator)
    split = _split_features(features, labels, 2000)
    assert linear_probe_accuracy(*split, seed=0) < 0.2
    assert knn_accuracy(*split, k=5) < 0.2


def test_linear_probe_reaches_scikit_learns_optimum_on_overlapping_classes():
    """The probe minimises scikit-learn's LogisticRegression objective (standardised features, C = 1): on classes
    that overlap, with one near-constant dimension, it predicts as scikit-learn does."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(5).repeat(600)
    features = torch.randn(5, 8, generator=generator)[labels] + 1.5 * torch.randn(3000, 8, generator=generator)
    features[:, 7] = 1e-3 * features[:, 7] + 5.0
    split = _split_features(features, labels, 2000)
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, tol=1e-8))
    reference.fit(split[0].numpy(), split[1].numpy())
    expected = reference.score(split[2].numpy(), split[3].numpy())
    assert 0.4 < expected < 0.95  # a problem where the optimum, not separability, decides the accuracy
    assert linear_probe_accuracy(*split, seed=0) == pytest.approx(expected, abs=0.003)


def test_the_warm_started_probe_on_a_large_split_reaches_the_optimum_of_a_fit_from_zero():
    """Above 2 × WARM_START_IMAGES training codes the probe starts from a subset's optimum: it must still end at
    the full split's optimum, so it predicts as a cold fit on every code does."""
    generator = torch.Generator().manual_seed(0)
    num_train = 2 * WARM_START_IMAGES + 5000
    labels = torch.arange(10).repeat((num_train + 4000) // 10)
    features = torch.randn(10, 16, generator=generator)[labels] + 2.0 * torch.randn(len(labels), 16,
                                                                                    generator=generator)
    split = _split_features(features, labels, num_train)
    cold = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky", max_iter=100))
    cold.fit(split[0].numpy(), split[1].numpy())
    expected = cold.score(split[2].numpy(), split[3].numpy())
    assert 0.5 < expected < 0.95
    assert linear_probe_accuracy(*split, seed=0) == pytest.approx(expected, abs=0.001)


def test_knn_reads_xor_labels_that_a_linear_probe_cannot():
    generator = torch.Generator().manual_seed(0)
    features = 2 * torch.rand(3000, 2, generator=generator) - 1
    labels = ((features[:, 0] > 0) ^ (features[:, 1] > 0)).long()
    split = _split_features(features, labels, 2000)
    assert linear_probe_accuracy(*split, seed=0) < 0.65
    assert knn_accuracy(*split, k=5) > 0.9


def _sweep(weights: list[float], pattern: Tensor) -> Tensor:
    return torch.stack([w * pattern for w in weights])


def test_smoothness_of_a_linear_fade_is_monotone_and_even():
    pattern = torch.rand(1, 6, 6, generator=torch.Generator().manual_seed(0)) + 0.1
    steps = 9
    fade = _sweep(torch.linspace(0, 1, steps).tolist(), pattern)
    result = traversal_smoothness(torch.stack([fade, -fade]))
    torch.testing.assert_close(result.monotonicity, torch.ones(2))
    torch.testing.assert_close(result.max_step_fraction, torch.full((2,), 1 / (steps - 1)))
    torch.testing.assert_close(result.mean_step_change, torch.full((2,), pattern.mean().item() / (steps - 1)))


def test_smoothness_of_one_abrupt_jump_puts_all_change_in_one_step():
    pattern = torch.ones(1, 4, 4)
    result = traversal_smoothness(_sweep([0, 0, 0, 1, 1, 1], pattern)[None])
    torch.testing.assert_close(result.max_step_fraction, torch.ones(1))
    torch.testing.assert_close(result.monotonicity, torch.ones(1))


def test_smoothness_of_back_and_forth_has_zero_monotonicity():
    pattern = torch.ones(1, 4, 4)
    result = traversal_smoothness(_sweep([1, 0, 1, 0, 1], pattern)[None])
    torch.testing.assert_close(result.monotonicity, torch.zeros(1))
    torch.testing.assert_close(result.mean_step_change, torch.ones(1))


def test_smoothness_of_independent_random_images_has_low_monotonicity():
    images = torch.rand(3, 9, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert (traversal_smoothness(images).monotonicity < 0.2).all()


def test_smoothness_of_a_constant_sweep_is_all_zero():
    result = traversal_smoothness(torch.full((2, 7, 1, 5, 5), 0.3))
    for value in result:
        assert torch.equal(value, torch.zeros(2))


def test_smoothness_accepts_extra_leading_dimensions():
    images = torch.rand(4, 3, 5, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    batched = traversal_smoothness(images)
    torch.testing.assert_close(batched.monotonicity[2], traversal_smoothness(images[2]).monotonicity)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolation_starts_and_ends_exactly_at_the_endpoints(method):
    a, b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.3, 0.7, -1.1])
    path = interpolate(a, b, steps=6, method=method)
    assert path.shape == (6, 3)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)


def test_lerp_midpoint_is_the_average():
    a, b = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 4.0])
    torch.testing.assert_close(lerp(a, b, torch.tensor([0.5]))[0], torch.tensor([2.0, 1.0]))


def test_slerp_keeps_the_norm_between_equal_norm_endpoints():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, generator=generator), torch.randn(16, generator=generator)
    b = b * a.norm() / b.norm()
    path = interpolate(a, b, steps=11, method="spherical")
    torch.testing.assert_close(path.norm(dim=1), torch.full((11,), a.norm().item()))


def test_slerp_of_orthogonal_unit_vectors_passes_through_the_diagonal():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(slerp(a, b, torch.tensor([0.5]))[0], torch.tensor([1.0, 1.0]) / math.sqrt(2))


@pytest.mark.parametrize("scale", [2.0, -1.0, 0.0])
def test_slerp_falls_back_to_lerp_for_parallel_or_zero_vectors(scale):
    a = torch.tensor([1.0, 2.0, -0.5])
    t = torch.linspace(0, 1, 5)
    torch.testing.assert_close(slerp(a, scale * a, t), lerp(a, scale * a, t))


def test_interpolation_rejects_an_unknown_method():
    with pytest.raises(ConfigError, match="'cubic'"):
        interpolate(torch.zeros(2), torch.ones(2), steps=3, method="cubic")


def test_a_class_offset_far_below_the_posterior_noise_shows_on_mu_but_not_on_sampled_codes():
    generator = torch.Generator().manual_seed(0)

    def encoded(n: int) -> EncodedSplit:
        labels = torch.arange(n) % 2
        mu = 0.01 * labels[:, None].float() + 1e-4 * torch.randn(n, 2, generator=generator)
        return EncodedSplit(mu, torch.zeros(n, 2), labels)  # σ = 1: the offset is 1% of the noise

    train, test = encoded(400), encoded(200)
    on_mu = linear_probe_accuracy(train.mu, train.labels, test.mu, test.labels, seed=0)
    on_z = linear_probe_accuracy(sample_codes(train, 0), train.labels, sample_codes(test, 1), test.labels, seed=0)
    assert on_mu > 0.95 and on_z < 0.65


def test_likelihood_numbers_of_an_8bit_likelihood_give_bits_per_dim_and_a_paired_convergence_check():
    torch.manual_seed(0)
    model = BetaVAE(image_shape=(1, 8, 8), latent_dim=2, channels=(4,), hidden_dim=8,
                         likelihood="discretized_logistic", num_mixtures=2)
    images = torch.randint(0, 256, (12, 1, 8, 8)).float().div(255)
    settings = OmegaConf.create({"num_samples": 20, "batch_size": 5,
                                 "convergence": {"num_samples": [10, 1, 40], "num_images": 6}})
    numbers = likelihood_numbers(model, images, torch.zeros(12, dtype=torch.long), settings, 0, "all")
    iwae_numbers, convergence = numbers["iwae"], numbers["iwae_convergence"]
    assert iwae_numbers["bits_per_dim"]["neg_log_likelihood"] == pytest.approx(
        iwae_numbers["neg_log_likelihood"] / (64 * math.log(2)), rel=1e-5)
    assert iwae_numbers["neg_elbo"] - iwae_numbers["neg_log_likelihood"] == pytest.approx(
        iwae_numbers["elbo_iwae_gap"]["mean"], abs=1e-3)
    assert convergence["num_samples"] == [1, 10, 40] and convergence["num_images"] == 6
    bounds, steps = convergence["neg_log_likelihood"], convergence["change_from_previous_k"]
    assert steps[1]["mean"] == pytest.approx(bounds[2] - bounds[1], abs=1e-3)
