"""The VampPrior (Tomczak & Welling 2018): the prior is the mixture of the encoder's posteriors at the pseudo-inputs,
its log-density by logsumexp, its samples from the mixture, its KL a single-sample estimate, and the analysis's IWAE
bound computed under it."""

import contextlib
import math

import pytest
import torch
from torch.distributions import Normal

from vae_lightning.analysis.likelihood import iwae_log_likelihood
from vae_lightning.errors import ConfigError
from vae_lightning.models import VampPrior
from vae_lightning.models import vamp as vamp_module
from vae_lightning.models.nets.conv_vae import VAEOutput
from vae_lightning.models.objectives import gaussian_kl_per_dim
from vae_lightning.models.vae import VAE

SMALL = {"image_shape": [1, 8, 8], "latent_dim": 3, "channels": [4], "hidden_dim": 8}


def _brute_force_log_prior(model: VampPrior, z: torch.Tensor) -> torch.Tensor:
    """log (1/K) Σ_k q(z | u_k), one pseudo-input at a time, in float64."""
    densities = []
    for u in model.pseudo_inputs():
        mu, log_var = model.vae.encoder(u[None], None)
        densities.append(Normal(mu.double(), (0.5 * log_var.double()).exp()).log_prob(z.double()).sum(-1))
    return torch.stack(densities).logsumexp(0) - math.log(len(densities))


def test_with_one_pseudo_input_encoded_as_a_standard_normal_the_prior_is_the_standard_normal():
    model = VampPrior(num_pseudo_inputs=1, **SMALL)
    last = model.vae.encoder.head[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)  # every input, the pseudo-input too, is encoded as μ = 0, log σ² = 0
    z = torch.randn(5, 7, 3) * 2
    expected = Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert torch.allclose(model.log_prior(z), expected, atol=1e-5)
    assert torch.allclose(VAE.log_prior(model, z), expected, atol=1e-5)


@pytest.mark.parametrize("max_chunk_elements", [1 << 22, 50])  # one chunk, and many chunks of a few codes
def test_the_mixture_log_density_matches_a_loop_over_its_components(monkeypatch, max_chunk_elements):
    monkeypatch.setattr(vamp_module, "MAX_CHUNK_ELEMENTS", max_chunk_elements)
    torch.manual_seed(0)
    z, mu, log_var = torch.randn(4, 6, 3) * 3, torch.randn(7, 3), torch.randn(7, 3)
    loop = torch.stack([Normal(mu[k], (0.5 * log_var[k]).exp()).log_prob(z).sum(-1) for k in range(7)])
    expected = loop.logsumexp(0) - math.log(7)
    assert torch.allclose(vamp_module.mixture_log_density(z, mu, log_var), expected, atol=1e-4)
    per_dim = torch.stack([Normal(mu[k], (0.5 * log_var[k]).exp()).log_prob(z) for k in range(7)])
    assert torch.allclose(vamp_module.mixture_log_density(z, mu, log_var, per_dim=True),
                          per_dim.logsumexp(0) - math.log(7), atol=1e-4)


def test_the_mixture_log_density_stays_exact_for_tight_components_even_under_bfloat16_autocast():
    """Codes next to components with σ = 0.02, as a well-trained encoder gives: the squared distance is a small
    difference of terms near μ²/σ² ≈ 10⁴ per dimension, which float32 (0.08 nats off) or bfloat16 would lose."""
    torch.manual_seed(4)
    mu, log_var = torch.randn(500, 32) * 2, torch.full((500, 32), 2 * math.log(0.02))
    z = mu[torch.randint(500, (2000,))] + 0.02 * torch.randn(2000, 32)
    exact = vamp_module.gaussian_log_density_per_dim(z.double()[:, None], mu.double(), log_var.double())
    expected = exact.sum(-1).logsumexp(1) - math.log(500)
    assert (vamp_module.mixture_log_density(z, mu, log_var).double() - expected).abs().max() < 1e-4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = vamp_module.mixture_log_density(z, mu, log_var)
    assert under_autocast.dtype == torch.float32
    assert (under_autocast.double() - expected).abs().max() < 1e-4


def test_the_models_log_prior_is_the_mixture_of_its_encoded_pseudo_inputs():
    torch.manual_seed(1)
    model = VampPrior(num_pseudo_inputs=6, **SMALL)
    z = torch.randn(10, 3)
    assert torch.allclose(model.log_prior(z).double(), _brute_force_log_prior(model, z), atol=1e-4)


def test_the_iwae_bound_uses_the_vamp_prior():
    torch.manual_seed(2)
    model = VampPrior(num_pseudo_inputs=4, **SMALL).eval()
    x = torch.rand(5, 1, 8, 8).bernoulli()
    result = iwae_log_likelihood(model, x, num_samples=12, batch_size=5, generator=torch.Generator().manual_seed(3),
                                 samples_per_chunk=12)
    with torch.no_grad():
        mu, log_var = model.vae.encoder(x, None)
        eps = torch.randn((12, *mu.shape), generator=torch.Generator().manual_seed(3))
        z = mu + (0.5 * log_var).exp() * eps
        log_px = -model.likelihood.neg_log_likelihood(model.vae.decoder(z.flatten(0, 1), None),
                                                      x.repeat(12, 1, 1, 1)).view(12, 5)
        log_qz = Normal(mu, (0.5 * log_var).exp()).log_prob(z).sum(-1)
        log_w = log_px.double() + _brute_force_log_prior(model, z) - log_qz.double()
    expected = -(log_w.logsumexp(0) - math.log(12))
    assert torch.allclose(result.neg_log_likelihood_per_image.double(), expected, atol=1e-3)


def test_the_kl_estimate_averages_to_the_closed_form_when_the_prior_is_the_standard_normal(monkeypatch):
    torch.manual_seed(4)
    model = VampPrior(num_pseudo_inputs=1, **SMALL)
    monkeypatch.setattr(model, "prior_components", lambda: (torch.zeros(1, 3), torch.zeros(1, 3)))
    mu, log_var = torch.tensor([[0.5, -1.0, 2.0]]).expand(20000, 3), torch.tensor([[-1.0, 0.3, 0.0]]).expand(20000, 3)
    z = mu + (0.5 * log_var).exp() * torch.randn(20000, 3)
    x = torch.zeros(20000, 1, 8, 8)
    with torch.no_grad():
        parts = model.elbo_parts(VAEOutput(x, mu, log_var, z), x)
    closed_form = gaussian_kl_per_dim(mu[:1], log_var[:1])
    assert parts.kl.mean().item() == pytest.approx(closed_form.sum().item(), abs=0.06)  # 4 s.e.
    assert torch.allclose(parts.kl_per_dim.mean(0), closed_form[0], atol=0.06)  # a factorised prior: the same KL


def test_samples_are_drawn_from_the_mixture(monkeypatch):
    model = VampPrior(num_pseudo_inputs=2, **{**SMALL, "latent_dim": 1})
    mu, log_var = torch.tensor([[-5.0], [5.0]]), torch.log(torch.tensor([[0.25], [0.25]]))
    monkeypatch.setattr(model, "prior_components", lambda: (mu, log_var))
    z = model.prior_sample(4000, torch.Generator().manual_seed(5)).flatten()
    left, right = z[z < 0], z[z > 0]
    assert len(left) / len(z) == pytest.approx(0.5, abs=0.03)
    assert left.mean().item() == pytest.approx(-5, abs=0.05) and right.std().item() == pytest.approx(0.5, abs=0.03)


def test_pseudo_inputs_stay_in_the_data_range_and_learn():
    model = VampPrior(num_pseudo_inputs=3, **SMALL)
    with torch.no_grad():
        model.pseudo_input_params[0].fill_(3.0)
        model.pseudo_input_params[1].fill_(-3.0)
    assert model.pseudo_inputs().min() >= 0 and model.pseudo_inputs().max() <= 1
    model.objective(torch.rand(4, 1, 8, 8).bernoulli(), None, 0)["loss"].backward()
    assert model.pseudo_input_params.grad[2].abs().sum() > 0  # inside the range, gradients reach the pseudo-input


def test_no_pseudo_inputs_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match=r"model.num_pseudo_inputs=0 is not allowed"):
        VampPrior(num_pseudo_inputs=0, **SMALL)


def test_a_fixed_prior_encodes_the_pseudo_inputs_once_and_scores_as_before(monkeypatch):
    torch.manual_seed(6)
    model = VampPrior(num_pseudo_inputs=5, **SMALL).eval()
    x = torch.rand(6, 1, 8, 8).bernoulli()

    def bound() -> torch.Tensor:
        return iwae_log_likelihood(model, x, num_samples=8, batch_size=3, samples_per_chunk=2,
                                   generator=torch.Generator().manual_seed(7)).neg_log_likelihood_per_image

    encoded, encode = [], model.vae.encoder.forward
    monkeypatch.setattr(model.vae.encoder, "forward", lambda x, c: encoded.append(len(x)) or encode(x, c))
    with monkeypatch.context() as unfixed:
        unfixed.setattr(model, "fixed_prior", contextlib.nullcontext)
        encoded_each_time = bound()
    assert encoded.count(5) == 8  # 2 batches × 4 chunks of draws
    encoded.clear()
    assert torch.equal(bound(), encoded_each_time)
    assert encoded.count(5) == 1  # once, beside the two batches of 3 images
    assert model._fixed_components is None  # after the block, training encodes them afresh at each step
