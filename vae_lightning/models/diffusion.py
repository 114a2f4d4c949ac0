"""Gaussian diffusion as functions of tensors (Ho et al. 2020): the linear noise schedule, the forward process
q(x_t | x_0) in closed form, one reverse step of ancestral sampling or of DDIM (Song et al. 2021), and the terms of
the variational bound with the discretised Gaussian decoder of Ho et al.'s code.

Time steps are 1-based as in the paper, t = 1 … T, and every per-step table has T + 1 entries with index 0 standing
for the data (ᾱ_0 = 1), so the formulas read as written. Images are in [-1, 1] with 256 levels, 2/255 apart.
"""

import torch
from torch import Tensor, nn

# Ho et al.'s linear schedule for T = 1000: β_1 = 1e-4 … β_T = 0.02.
BETA_START = 1e-4
BETA_END = 0.02
REFERENCE_STEPS = 1000
# Half the width of one of the 256 levels of an 8-bit pixel scaled to [-1, 1].
HALF_BIN = 1 / 255
# Probabilities are floored here before the log, as in Ho et al.'s code, so an empty bin costs a finite 27.6 nats.
MIN_PROBABILITY = 1e-12


def linear_betas(timesteps: int) -> Tensor:
    """β_1 … β_T (float64, index 0 holds 0): Ho et al.'s endpoints scaled by 1000/T (Nichol & Dhariwal 2021), so
    T = 100 ends in pure noise (ᾱ_T = 2.0e-5; 4.0e-5 at T = 1000) rather than at ᾱ_T ≈ 0.37 unscaled."""
    scale = REFERENCE_STEPS / timesteps
    betas = torch.linspace(BETA_START * scale, BETA_END * scale, timesteps, dtype=torch.float64)
    return torch.cat([torch.zeros(1, dtype=torch.float64), betas])


class NoiseSchedule(nn.Module):
    """The per-step constants of a linear schedule with T steps, as buffers that follow the model to its device;
    computed in float64 and stored in float32, and left out of the state dict: T alone rebuilds them."""

    def __init__(self, timesteps: int) -> None:
        super().__init__()
        betas = linear_betas(timesteps)
        alpha_bar = torch.cumprod(1 - betas, dim=0)
        previous = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
        # β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), the variance of q(x_{t−1} | x_t, x_0); 0 at t = 1 (and t = 0).
        tables = {
            "betas": betas, "alpha_bar": alpha_bar,
            "posterior_variance": betas * (1 - previous) / (1 - alpha_bar).clamp(min=1e-20),
            # μ̃_t(x_t, x_0) = a_t x_0 + b_t x_t (Ho et al. eq. 7), kept in float64 until stored: 1 − ᾱ_1 = β_1 is
            # small, and its float32 rounding would bias the last step by 1e-4 of a pixel
            "posterior_x0_coef": previous.sqrt() * betas / (1 - alpha_bar).clamp(min=1e-20),
            "posterior_xt_coef": (1 - betas).sqrt() * (1 - previous) / (1 - alpha_bar).clamp(min=1e-20),
        }
        self.timesteps = timesteps
        for name, values in tables.items():
            self.register_buffer(name, values.float(), persistent=False)

    def at(self, name: str, t: Tensor) -> Tensor:
        """The table `name` at steps `t` (B,), shaped (B, 1, 1, 1) to broadcast over images."""
        return getattr(self, name)[t].view(-1, 1, 1, 1)


def q_sample(schedule: NoiseSchedule, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
    """x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), as √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Ho et al. eq. 4)."""
    alpha_bar = schedule.at("alpha_bar", t)
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


def predict_x0(schedule: NoiseSchedule, x_t: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """x̂_0 from the predicted noise, clipped to the data's range [-1, 1] as Ho et al.'s sampler does."""
    alpha_bar = schedule.at("alpha_bar", t)
    return ((x_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()).clamp(-1, 1)


def posterior_mean(schedule: NoiseSchedule, x_t: Tensor, x0: Tensor, t: Tensor) -> Tensor:
    """μ̃_t(x_t, x_0), the mean of q(x_{t−1} | x_t, x_0) (Ho et al. eq. 7)."""
    return schedule.at("posterior_x0_coef", t) * x0 + schedule.at("posterior_xt_coef", t) * x_t


def ancestral_step(schedule: NoiseSchedule, x_t: Tensor, t: Tensor, eps: Tensor, noise: Tensor) -> Tensor:
    """x_{t−1} ~ p_θ(x_{t−1} | x_t) = N(μ̃_t(x_t, x̂_0), β̃_t I): Ho et al.'s Algorithm 2 with the posterior variance
    (σ_t² = β̃_t, one of their two choices, which is 0 at t = 1: the last step returns x̂_0)."""
    mean = posterior_mean(schedule, x_t, predict_x0(schedule, x_t, t, eps), t)
    return mean + schedule.at("posterior_variance", t).sqrt() * noise


def ddim_step(schedule: NoiseSchedule, x_t: Tensor, t: Tensor, s: Tensor, eps: Tensor, noise: Tensor,
              eta: float) -> Tensor:
    """x_s from x_t for any earlier step s (Song et al. 2021, eq. 12): η = 0 is deterministic, η = 1 with s = t − 1
    is the ancestral step above. ε is recomputed from the clipped x̂_0 so the two stay consistent."""
    alpha_bar_t, alpha_bar_s = schedule.at("alpha_bar", t), schedule.at("alpha_bar", s)
    x0 = predict_x0(schedule, x_t, t, eps)
    eps = (x_t - alpha_bar_t.sqrt() * x0) / (1 - alpha_bar_t).sqrt()
    sigma = eta * ((1 - alpha_bar_s) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_s)).sqrt()
    return alpha_bar_s.sqrt() * x0 + (1 - alpha_bar_s - sigma**2).clamp(min=0).sqrt() * eps + sigma * noise


def ddim_steps(timesteps: int, sample_steps: int) -> list[int]:
    """`sample_steps` steps from T down to 1, evenly spaced; all of them when `sample_steps` = T."""
    return sorted({round(t) for t in torch.linspace(1, timesteps, sample_steps, dtype=torch.float64).tolist()},
                  reverse=True)


def normal_kl(mean_1: Tensor, var_1: Tensor, mean_2: Tensor, var_2: Tensor) -> Tensor:
    """KL(N(mean_1, var_1) ‖ N(mean_2, var_2)) per element, in nats."""
    return 0.5 * (var_2.log() - var_1.log() + (var_1 + (mean_1 - mean_2) ** 2) / var_2 - 1)


def discretized_gaussian_log_likelihood(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """log P(x) per pixel of 8-bit data in [-1, 1] under N(mean, std²) integrated over x's bin, the two outer bins
    reaching to ±∞ (the decoder L_0 of Ho et al.'s code)."""
    upper, lower = (x - mean + HALF_BIN) / std, (x - mean - HALF_BIN) / std
    middle = (torch.special.ndtr(upper) - torch.special.ndtr(lower)).clamp(min=MIN_PROBABILITY).log()
    return torch.where(x < -1 + HALF_BIN, torch.special.log_ndtr(upper),
                       torch.where(x > 1 - HALF_BIN, torch.special.log_ndtr(-lower), middle))


def prior_kl(schedule: NoiseSchedule, x0: Tensor) -> Tensor:
    """L_T = KL(q(x_T | x_0) ‖ N(0, I)) per image, in nats: how far the last step is from pure noise."""
    t = torch.full((len(x0),), schedule.timesteps, device=x0.device)
    alpha_bar = schedule.at("alpha_bar", t)
    kl = normal_kl(alpha_bar.sqrt() * x0, (1 - alpha_bar).expand_as(x0), torch.zeros_like(x0), torch.ones_like(x0))
    return kl.flatten(1).sum(1)


def denoising_kl(schedule: NoiseSchedule, x0: Tensor, x_t: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """L_{t−1} = KL(q(x_{t−1} | x_t, x_0) ‖ p_θ(x_{t−1} | x_t)) per image for t ≥ 2, in nats: both have variance β̃_t,
    so it is the squared distance of the means over 2β̃_t."""
    true_mean = posterior_mean(schedule, x_t, x0, t)
    model_mean = posterior_mean(schedule, x_t, predict_x0(schedule, x_t, t, eps), t)
    return ((true_mean - model_mean) ** 2 / (2 * schedule.at("posterior_variance", t))).flatten(1).sum(1)


def decoder_nll(schedule: NoiseSchedule, x0: Tensor, x1: Tensor, eps: Tensor) -> Tensor:
    """L_0 = −log p_θ(x_0 | x_1) per image, in nats: the discretised Gaussian around x̂_0 with variance β̃_2 (β̃_1 is
    0; Ho et al.'s code clips it to β̃_2 likewise)."""
    t = torch.ones(len(x0), dtype=torch.long, device=x0.device)
    std = schedule.at("posterior_variance", t + 1).sqrt()
    return -discretized_gaussian_log_likelihood(x0, predict_x0(schedule, x1, t, eps), std).flatten(1).sum(1)


def stratified_steps(batch_size: int, low: int, high: int, device: torch.device) -> Tensor:
    """One step per image from {low, …, high}, stratified: the range cut into `batch_size` equal strata and one
    uniform draw in each, in a random order. Each image's step is still uniform over the range (an unbiased
    estimate of a sum over steps), with less spread across a batch than independent draws."""
    strata = (torch.arange(batch_size, device=device) + torch.rand(batch_size, device=device)) / batch_size
    steps = low + (strata * (high - low + 1)).long().clamp(max=high - low)
    return steps[torch.randperm(batch_size, device=device)]

