import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_lightning.errors import ConfigError
from vae_lightning.models import BetaVAE
from vae_lightning.models.likelihoods import BernoulliLikelihood, GaussianLikelihood
from vae_lightning.models.nets.conv_vae import LOG_VAR_BOUND, ConvVAE
from vae_lightning.models.objectives import gaussian_kl_per_dim
from vae_lightning.runs.loading import restore_model


@pytest.mark.parametrize("latent_dim", [1, 2, 16, 32, 256])
def test_shapes_follow_latent_dim_and_image(latent_dim):
    vae = ConvVAE(image_shape=(1, 28, 28), latent_dim=latent_dim)
    out = vae(torch.rand(5, 1, 28, 28))
    assert out.decoder_output.shape == (5, 1, 28, 28)
    assert out.mu.shape == out.log_var.shape == out.z.shape == (5, latent_dim)


@pytest.mark.parametrize("kernel_size", [3, 4, 5])
def test_rgb_images_of_other_sizes_round_trip_for_odd_and_even_kernels(kernel_size):
    vae = ConvVAE(image_shape=(3, 64, 32), channels=(8, 16, 16), kernel_size=kernel_size, latent_dim=4)
    assert vae(torch.rand(2, 3, 64, 32)).decoder_output.shape == (2, 3, 64, 32)


def test_image_side_that_cannot_be_halved_names_the_setting():
    with pytest.raises(ConfigError, match="model.channels"):
        ConvVAE(image_shape=(1, 28, 28), channels=(8, 8, 8))


def test_kl_matches_hand_computed_value():
    mu = torch.tensor([[0.0, 1.0, -2.0]])
    log_var = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]])
    # ½(μ² + σ² − 1 − log σ²) for each dimension, worked by hand.
    expected = torch.tensor([[0.0, 0.5 * (1 + 4 - 1 - math.log(4.0)), 0.5 * (4 + 0.25 - 1 - math.log(0.25))]])
    torch.testing.assert_close(gaussian_kl_per_dim(mu, log_var), expected)


def test_kl_agrees_with_torch_distributions():
    mu, log_var = torch.randn(64, 8), torch.randn(64, 8)
    reference = kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0))
    torch.testing.assert_close(gaussian_kl_per_dim(mu, log_var), reference)


def test_bernoulli_nll_of_a_perfect_decoder_is_near_zero_and_sums_over_pixels():
    x = (torch.rand(3, 1, 28, 28) > 0.5).float()
    perfect_logits = (x * 2 - 1) * 30.0
    nll = BernoulliLikelihood().neg_log_likelihood(perfect_logits, x)
    assert nll.shape == (3,)
    assert torch.all(nll < 1e-6 * 784)
    uninformed = BernoulliLikelihood().neg_log_likelihood(torch.zeros_like(x), x)
    torch.testing.assert_close(uninformed, torch.full((3,), 784 * math.log(2.0)))


def test_gaussian_nll_of_a_perfect_decoder_is_the_normalising_constant():
    x = torch.rand(2, 1, 4, 4).clamp(0.05, 0.95)
    logits = torch.log(x / (1 - x))
    sigma = 0.1
    nll = GaussianLikelihood(sigma=sigma).neg_log_likelihood(logits, x)
    torch.testing.assert_close(nll, torch.full((2,), 16 * (math.log(sigma) + 0.5 * math.log(2 * math.pi))))


def test_gradients_reach_encoder_through_the_reparameterised_sample():
    model = BetaVAE(latent_dim=4)
    model.objective(torch.rand(8, 1, 28, 28), None, 0)["loss"].backward()
    encoder_grads = [p.grad for p in model.vae.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in encoder_grads)
    assert sum(g.abs().sum() for g in encoder_grads) > 0


def test_log_var_stays_bounded_for_extreme_inputs():
    vae = ConvVAE(latent_dim=8)
    with torch.no_grad():
        vae.encoder.head[-1].bias.fill_(1e6)
    _, log_var = vae.encoder(torch.rand(2, 1, 28, 28))
    assert torch.all(log_var <= LOG_VAR_BOUND)
    assert torch.isfinite(gaussian_kl_per_dim(torch.zeros_like(log_var), log_var)).all()


@pytest.mark.parametrize(("beta", "latent_dim"), [(0.0, 8), (1.0, 8), (100.0, 8), (1.0, 1), (100.0, 1), (1.0, 256),
                                                  (100.0, 256)])
def test_training_steps_stay_finite_across_beta_and_latent_size(beta, latent_dim):
    torch.manual_seed(0)
    model = BetaVAE(latent_dim=latent_dim, beta=beta)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(16, 1, 28, 28)
    for _ in range(20):
        optimizer.zero_grad()
        loss = model.objective(x, None, 0)["loss"]
        loss.backward()
        optimizer.step()
    assert torch.isfinite(loss)


@pytest.mark.parametrize(("key", "kwargs"), [
    ("model.latent_dim", {"latent_dim": 0}),
    ("model.beta", {"beta": -1.0}),
    ("model.likelihood", {"likelihood": "poisson"}),
    ("model.gaussian_sigma", {"likelihood": "gaussian", "gaussian_sigma": 0.0}),
])
def test_invalid_hyperparameters_name_the_config_key(key, kwargs):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        BetaVAE(**kwargs)


def test_objective_terms_use_the_decoder_output_for_the_sampled_z():
    torch.manual_seed(0)
    model = BetaVAE(latent_dim=4, beta=3.0)
    x = torch.rand(6, 1, 28, 28)
    torch.manual_seed(1)
    terms = model.objective(x, None, None)
    torch.manual_seed(1)
    out = model(x)
    recon = model.likelihood.neg_log_likelihood(out.decoder_output, x)
    kl_per_dim = gaussian_kl_per_dim(out.mu, out.log_var)
    torch.testing.assert_close(terms["recon"], recon.mean())
    torch.testing.assert_close(terms["kl_per_dim"], kl_per_dim.mean(0))
    torch.testing.assert_close(terms["neg_elbo"], (recon + kl_per_dim.sum(1)).mean())
    torch.testing.assert_close(terms["loss"], (recon + 3.0 * kl_per_dim.sum(1)).mean())


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_a_checkpoint_from_before_the_new_likelihood_settings_loads_with_its_old_behaviour(likelihood):
    old = BetaVAE(likelihood=likelihood, latent_dim=2, channels=(4,), hidden_dim=8)
    hparams = {key: value for key, value in old.hparams.items() if key not in ("dequantize", "num_mixtures")}
    loaded = restore_model({"state_dict": old.state_dict(), "hyper_parameters": {**hparams, "lr": 1e-3},
                            "pytorch-lightning_version": L.__version__}, Path("old.ckpt"))
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded.likelihood.model_target(x), x)  # a Gaussian checkpoint keeps raw, undequantised pixels
    torch.manual_seed(0)
    terms = loaded.objective(x, None, None)
    torch.manual_seed(0)
    assert terms["neg_elbo"] == old.eval().objective(x, None, None)["neg_elbo"] and "bits_per_dim" not in terms


def test_decoder_outputs_what_the_likelihood_needs_and_8bit_likelihoods_report_bits_per_dim():
    model = BetaVAE(likelihood="discretized_logistic", num_mixtures=3, latent_dim=2, channels=(4,), hidden_dim=8)
    x = torch.randint(0, 256, (2, 1, 28, 28)).float().div(255)
    assert model(x).decoder_output.shape == (2, 9, 28, 28)
    terms = model.objective(x, None, None)
    assert terms["bits_per_dim"].item() == pytest.approx(terms["neg_elbo"].item() / (784 * math.log(2)), rel=1e-6)
