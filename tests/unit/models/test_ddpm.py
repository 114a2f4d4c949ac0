"""DDPM (models/ddpm.py) on tiny images: its terms, its bound against a known answer, its samplers, its settings, and
its loss falling on a trivial dataset."""

import math

import pytest
import torch
from torch import Tensor, nn

from vae_lightning.errors import ConfigError
from vae_lightning.models import DDPM, diffusion

SHAPE = (1, 16, 16)  # two resolutions (16, 8): the smallest U-Net with a skip across a downsampling


def tiny(**settings) -> DDPM:
    torch.manual_seed(0)
    return DDPM(**{"image_shape": SHAPE, "timesteps": 30, "width": 8, "sample_steps": 5, **settings})


def test_training_returns_the_epsilon_loss_and_evaluation_adds_the_bound():
    model, x = tiny(), torch.rand(4, *SHAPE)
    training, evaluation = model.objective(x, None, step=3), model.objective(x, None, step=None)
    assert set(training) == {"loss"} and set(evaluation) == {"loss", "bits_per_dim"}
    assert training["loss"].ndim == 0 and training["loss"].requires_grad
    # the last layer starts at zero: ε_θ = 0, so the loss starts at E[ε²] = 1
    assert training["loss"].item() == pytest.approx(1.0, abs=0.15)
    assert math.isfinite(evaluation["bits_per_dim"].item()) and evaluation["bits_per_dim"].item() > 0


class Oracle(nn.Module):
    """The noise a model would predict if it knew x_0 to be `x0_guess`: ε = (x_t − √ᾱ_t x̂_0) / √(1 − ᾱ_t)."""

    def __init__(self, schedule: diffusion.NoiseSchedule, x0_guess: Tensor) -> None:
        super().__init__()
        self.schedule, self.x0_guess = schedule, x0_guess

    def forward(self, x_t: Tensor, t: Tensor) -> Tensor:
        alpha_bar = self.schedule.at("alpha_bar", t)
        return (x_t - alpha_bar.sqrt() * self.x0_guess) / (1 - alpha_bar).sqrt()


def test_the_bound_of_a_model_off_by_delta_is_the_closed_form_sum_over_every_step():
    model = tiny()
    schedule, timesteps, delta = model.schedule, 30, 0.1
    x0 = (torch.randint(0, 200, SHAPE) / 255 * 2 - 1).expand(timesteps - 1, *SHAPE)  # one image per step t = 2 … T
    model.network = Oracle(schedule, x0[:1] + delta)
    # The model's mean is off by a_t δ at every pixel (a_t = the posterior's x_0 coefficient), whatever x_t is:
    # L_{t−1} = D a_t² δ² / (2 β̃_t), summed over t = 2 … T (each image of the batch draws one step, each once).
    dims = x0[0].numel()
    t = torch.arange(2, timesteps + 1)
    denoising = (dims * schedule.posterior_x0_coef[t] ** 2 * delta**2 / (2 * schedule.posterior_variance[t])).sum()
    std = schedule.posterior_variance[2].sqrt()
    decoder = -diffusion.discretized_gaussian_log_likelihood(x0[:1], x0[:1] + delta, std).sum()
    expected = diffusion.prior_kl(schedule, x0[:1]) + denoising + decoder
    # each image's estimate is L_T + (T − 1) L_{t−1} + L_0 at its own step: their mean is the sum over every step
    assert model.variational_bound(x0).mean().item() == pytest.approx(expected.item(), rel=1e-4)


def test_a_perfect_model_pays_only_the_prior_and_the_decoder_term():
    model = tiny()
    x0 = (torch.randint(0, 256, (5, *SHAPE)) / 255 * 2 - 1)
    model.network = Oracle(model.schedule, x0)
    bound = model.variational_bound(x0)
    std = model.schedule.posterior_variance[2].sqrt()
    decoder = -diffusion.discretized_gaussian_log_likelihood(x0, x0, std).flatten(1).sum(1)
    assert torch.allclose(bound, diffusion.prior_kl(model.schedule, x0) + decoder, rtol=1e-5)


def test_ddim_with_eta_one_over_all_steps_draws_the_same_samples_as_ancestral_sampling():
    ancestral, ddim = tiny(sampler="ancestral").eval(), tiny(sampler="ddim", eta=1.0, sample_steps=30).eval()
    first = ancestral.sample(3, torch.Generator().manual_seed(5))
    assert torch.allclose(first, ddim.sample(3, torch.Generator().manual_seed(5)), atol=1e-4)


def test_samples_are_images_in_the_unit_range_and_repeat_with_the_seed():
    model = tiny().eval()
    samples = model.sample(3, torch.Generator().manual_seed(0))
    assert samples.shape == (3, *SHAPE) and samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(samples, model.sample(3, torch.Generator().manual_seed(0)))
    assert not torch.equal(samples, model.sample(3, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize(("setting", "message"), [
    ({"timesteps": 20}, "model.timesteps=20 is not allowed"),
    ({"sampler": "euler"}, "model.sampler='euler' is not allowed: use one of ancestral, ddim"),
    ({"sample_steps": 31}, "model.sample_steps=31 is not allowed"),
    ({"eta": 1.5}, "model.eta=1.5 is not allowed"),
    ({"width": 12}, "model.width=12 is not allowed: a multiple of 8"),
    ({"channels": [8, 16, 16, 16, 16, 16]}, "does not fit 16×16 images"),
    ({"channels": [8, 0]}, "does not fit 16×16 images"),
    ({"channels": []}, "does not fit 16×16 images"),
])
def test_each_bad_setting_is_refused_with_its_key(setting, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        tiny(**setting)


def test_the_epsilon_loss_falls_in_a_few_steps_on_a_trivial_dataset():
    model = tiny()
    images = torch.zeros(8, *SHAPE)
    images[:, :, 4:12, 6:10] = 1.0  # one bar, the same in every image
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = model.objective(images, None, step=0)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-6:]) / 6 < 0.6 * sum(losses[:6]) / 6
