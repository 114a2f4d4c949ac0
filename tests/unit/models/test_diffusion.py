"""The diffusion maths (models/diffusion.py) against values and identities known from Ho et al. 2020 and Song et al.
2021: the schedule's numbers, the closed-form forward process, Bayes' rule for the posterior, DDIM at η = 1 as the
ancestral step, the discretised decoder as a distribution over 256 levels."""

import math

import pytest
import torch

from vae_lightning.models import diffusion


def test_the_linear_schedule_has_ho_et_al_values_at_1000_steps():
    schedule = diffusion.NoiseSchedule(1000)
    betas = schedule.betas.double()
    assert betas[1].item() == pytest.approx(1e-4) and betas[1000].item() == pytest.approx(0.02)
    assert betas[0] == 0 and schedule.alpha_bar[0] == 1
    # ᾱ_T = Π (1 − β_t) over the linear schedule: 4.04e-5, so x_T is noise (√ᾱ_T ≈ 0.0064 of the image is left)
    assert schedule.alpha_bar[1000].item() == pytest.approx(4.036e-5, rel=1e-3)
    assert schedule.posterior_variance[1] == 0  # q(x_0 | x_1, x_0) is a point


def test_fewer_steps_scale_the_schedule_so_the_last_step_is_still_noise():
    for timesteps in (100, 250, 1000):
        alpha_bar_end = diffusion.NoiseSchedule(timesteps).alpha_bar[timesteps].item()
        assert 1e-5 < alpha_bar_end < 5e-5  # unscaled, T = 100 would end at ᾱ_T ≈ 0.37


def test_the_closed_form_forward_process_matches_the_chain_of_single_steps():
    torch.manual_seed(0)
    schedule, t = diffusion.NoiseSchedule(100), 12
    x0 = torch.tensor([-0.8, 0.0, 0.9]).expand(20_000, 1, 1, 3)
    chained = x0.clone()
    for step in range(1, t + 1):  # q(x_t | x_{t−1}) = N(√(1 − β_t) x_{t−1}, β_t)
        beta = schedule.betas[step]
        chained = (1 - beta).sqrt() * chained + beta.sqrt() * torch.randn_like(chained)
    steps = torch.full((len(x0),), t)
    closed = diffusion.q_sample(schedule, x0, steps, torch.randn_like(x0))
    alpha_bar = schedule.alpha_bar[t]
    for samples in (chained, closed):
        assert torch.allclose(samples.mean(0).flatten(), alpha_bar.sqrt() * x0[0].flatten(), atol=0.02)
        assert torch.allclose(samples.var(0).flatten(), (1 - alpha_bar).expand(3), atol=0.02)


def test_the_posterior_mean_and_variance_are_bayes_rule_on_the_two_gaussians():
    schedule, betas = diffusion.NoiseSchedule(200), diffusion.linear_betas(200)
    x0, x_t = torch.tensor([0.3]).view(1, 1, 1, 1), torch.tensor([-0.5]).view(1, 1, 1, 1)
    for t in (2, 50, 200):
        beta, previous = betas[t], torch.prod(1 - betas[:t])
        # x_{t−1} ~ N(√ᾱ_{t−1} x0, 1 − ᾱ_{t−1}) and x_t | x_{t−1} ~ N(√(1 − β_t) x_{t−1}, β_t): precisions add
        precision = 1 / (1 - previous) + (1 - beta) / beta
        mean = (previous.sqrt() * 0.3 / (1 - previous) + (1 - beta).sqrt() * -0.5 / beta) / precision
        steps = torch.tensor([t])
        assert diffusion.posterior_mean(schedule, x_t, x0, steps).item() == pytest.approx(mean.item(), rel=1e-4)
        assert schedule.posterior_variance[t].item() == pytest.approx(1 / precision.item(), rel=1e-4)


def test_ddim_with_eta_one_and_no_skipped_step_is_the_ancestral_step():
    torch.manual_seed(0)
    schedule = diffusion.NoiseSchedule(100)
    x_t, eps, noise = torch.randn(3, 4, 1, 5, 5).unbind()
    for t in (1, 2, 40, 100):
        steps = torch.full((4,), t)
        ancestral = diffusion.ancestral_step(schedule, x_t, steps, eps, noise)
        ddim = diffusion.ddim_step(schedule, x_t, steps, steps - 1, eps, noise, eta=1.0)
        assert torch.allclose(ancestral, ddim, atol=1e-5)


def test_the_last_step_of_either_sampler_returns_the_clipped_x0_prediction():
    schedule = diffusion.NoiseSchedule(100)
    x1, eps, noise = torch.randn(3, 2, 1, 4, 4).unbind()
    first = torch.ones(2, dtype=torch.long)
    x0 = diffusion.predict_x0(schedule, x1, first, eps)
    assert x0.abs().max() <= 1
    assert torch.allclose(diffusion.ancestral_step(schedule, x1, first, eps, noise), x0, atol=1e-6)
    assert torch.allclose(diffusion.ddim_step(schedule, x1, first, first - 1, eps, noise, eta=0.0), x0, atol=1e-6)


def test_ddim_steps_run_from_t_down_to_1_evenly():
    assert diffusion.ddim_steps(1000, 50)[:2] == [1000, 980] and diffusion.ddim_steps(1000, 50)[-1] == 1
    assert len(diffusion.ddim_steps(1000, 50)) == 50
    assert diffusion.ddim_steps(30, 30) == list(range(30, 0, -1))


def test_the_discretised_decoder_is_a_distribution_over_the_256_levels():
    levels = (torch.arange(256) / 255 * 2 - 1).view(256, 1, 1, 1)
    for mean, std in ((0.0, 0.01), (0.95, 0.2), (-1.3, 0.05)):
        log_p = diffusion.discretized_gaussian_log_likelihood(levels, torch.tensor(mean), torch.tensor(std))
        assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-5)


def test_the_prior_term_is_negligible_for_the_default_schedule():
    schedule = diffusion.NoiseSchedule(1000)
    x0 = torch.ones(1, 1, 28, 28)  # the worst case: every pixel at the edge of the range
    bits_per_dim = diffusion.prior_kl(schedule, x0).item() / (784 * math.log(2))
    assert 0 < bits_per_dim < 1e-4  # Ho et al. report L_T ≈ 1e-5 bits/dim on CIFAR-10


def test_stratified_steps_with_one_stratum_per_step_draw_each_step_once():
    steps = diffusion.stratified_steps(99, 2, 100, torch.device("cpu"))
    assert sorted(steps.tolist()) == list(range(2, 101))


def test_stratified_steps_are_uniform_over_the_range_for_any_batch_size():
    torch.manual_seed(0)
    draws = torch.cat([diffusion.stratified_steps(7, 1, 10, torch.device("cpu")) for _ in range(1000)])
    counts = torch.bincount(draws, minlength=11)[1:].float()
    assert draws.min() >= 1 and draws.max() <= 10
    assert (counts / counts.sum() - 0.1).abs().max() < 0.01
