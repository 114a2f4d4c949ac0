"""The IWAE objective (Burda et al. 2016): a bound that equals the ELBO in expectation at K = 1 and tightens with K,
computed on the same draws as the analysis's IWAE bound, with no β to ignore."""

import pytest
import torch

from vae_lightning.analysis.likelihood import iwae_log_likelihood
from vae_lightning.errors import ConfigError
from vae_lightning.models import IWAE

SMALL = {"image_shape": [1, 8, 8], "latent_dim": 3, "channels": [4], "hidden_dim": 8}


def _mean_loss(model: IWAE, x: torch.Tensor, repeats: int) -> float:
    torch.manual_seed(0)
    with torch.no_grad():
        return sum(model.objective(x, None, None)["loss"].item() for _ in range(repeats)) / repeats


def test_at_k_1_the_bound_is_the_elbo_in_expectation_and_more_draws_tighten_it():
    torch.manual_seed(1)
    x = torch.rand(16, 1, 8, 8)
    model = IWAE(k=1, **SMALL).eval()
    one_draw = _mean_loss(model, x, 150)
    with torch.no_grad():
        neg_elbo = model.objective(x, None, None)["neg_elbo"].item()  # closed-form KL, Monte Carlo recon
    assert one_draw == pytest.approx(neg_elbo, rel=2e-3)
    model.hparams["k"] = 50
    assert _mean_loss(model, x, 10) < one_draw - 0.01


def test_the_training_bound_is_the_analysis_bound_on_the_same_draws():
    torch.manual_seed(2)
    x = torch.rand(6, 1, 8, 8)
    model = IWAE(k=20, **SMALL).eval()
    torch.manual_seed(3)
    with torch.no_grad():
        trained = model.objective(x, None, None)["loss"].item()
    generator = torch.Generator().manual_seed(3)
    analysed = iwae_log_likelihood(model, x, num_samples=20, batch_size=6, generator=generator, samples_per_chunk=20)
    assert analysed.neg_log_likelihood == pytest.approx(trained, rel=1e-5)


def test_the_model_holds_k_and_no_beta_or_kl_schedule():
    model = IWAE(k=5, **SMALL)
    assert model.hparams.k == 5 and "beta" not in model.hparams and "kl_schedule" not in model.hparams
    assert not hasattr(model, "kl_schedule")


def test_k_below_one_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match=r"model.k=0 is not allowed"):
        IWAE(k=0, **SMALL)


def test_gradients_reach_encoder_and_decoder():
    model = IWAE(k=4, **SMALL)
    model.objective(torch.rand(4, 1, 8, 8), None, 0)["loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
