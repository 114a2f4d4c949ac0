"""DDPM (`model=ddpm`, Ho et al. 2020): a U-Net trained to predict the noise of diffused images (ε-prediction with
their simple loss), sampled by ancestral sampling over all T steps or by DDIM (Song et al. 2021) over a few.

The data's [0, 1] pixels are scaled to [-1, 1] inside the model, the range the schedule is made for; samples come
back in [0, 1] like every other model's. Evaluation (validation and test) also estimates the variational bound
(Ho et al. eq. 5) in bits per dimension of the 8-bit image: L_T and the decoder term L_0 exactly for every image, and
the T − 1 denoising terms from one step per image drawn uniformly (stratified over the batch), scaled by T − 1 — an
unbiased estimate of the full sum at the cost of two extra network passes, where the exact sum costs T.
"""

from collections.abc import Callable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

import vae_lightning.models.diffusion as diffusion
from vae_lightning.models.contract import GenerativeModel, in_batches, require
from vae_lightning.models.likelihoods import bits_per_dim
from vae_lightning.models.nets.unet import UNet, derived_unet_channels

SAMPLERS = ("ancestral", "ddim")
SAMPLE_BATCH = 500


class DDPM(GenerativeModel):
    """ε_θ(x_t, t), a U-Net over `channels` (one per resolution; null: derived from the image size and `width`),
    with a linear noise schedule over `timesteps` steps."""

    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape",)
    term_descriptions: ClassVar[dict[str, str]] = {
        "loss": "ε-prediction error ‖ε − ε_θ(x_t, t)‖² per pixel at a uniform step t (Ho et al.'s L_simple)",
        "bits_per_dim": "variational bound on −log P of the 8-bit image, bits per dimension (evaluation only; the "
                        "denoising terms estimated from one step per image)",
    }

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), timesteps: int = 1000, width: int = 16,
                 channels: Sequence[int] | None = None, num_res_blocks: int = 1, attention: bool = True,
                 dropout: float = 0.0, sampler: str = "ddim", sample_steps: int = 50, eta: float = 0.0) -> None:
        scale = diffusion.REFERENCE_STEPS / timesteps if timesteps > 0 else float("inf")
        require(timesteps >= 2 and diffusion.BETA_END * scale < 1, "model.timesteps", timesteps,
                f"the schedule's last β, {diffusion.BETA_END} × 1000 / T, must stay below 1: use T ≥ "
                f"{int(diffusion.BETA_END * diffusion.REFERENCE_STEPS) + 1} (Ho et al.: 1000)")
        require(sampler in SAMPLERS, "model.sampler", sampler, f"use one of {', '.join(SAMPLERS)}")
        require(1 <= sample_steps <= timesteps, "model.sample_steps", sample_steps,
                f"DDIM takes between 1 and model.timesteps={timesteps} steps")
        require(0 <= eta <= 1, "model.eta", eta, "DDIM's η is between 0 (deterministic) and 1 (ancestral)")
        require(0 <= dropout < 1, "model.dropout", dropout, "a probability in [0, 1)")
        require(num_res_blocks >= 1, "model.num_res_blocks", num_res_blocks, "each level needs at least 1 block")
        require(width >= 8 and width % 8 == 0, "model.width", width, "a multiple of 8 (the normalisation groups)")
        super().__init__()
        self.keep_settings(image_shape=list(image_shape), timesteps=timesteps, width=width,
                           channels=None if channels is None else list(channels), num_res_blocks=num_res_blocks,
                           attention=attention, dropout=dropout, sampler=sampler, sample_steps=sample_steps, eta=eta)
        levels = derived_unet_channels(image_shape[-1], width) if channels is None else channels
        self.network = UNet(image_shape, levels, num_res_blocks, attention, dropout)
        self.schedule = diffusion.NoiseSchedule(timesteps)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        x0 = 2 * x - 1
        t = diffusion.stratified_steps(len(x0), 1, self.hparams.timesteps, x0.device)
        noise = torch.randn_like(x0)
        predicted = self.network(diffusion.q_sample(self.schedule, x0, t, noise), t)
        terms = {"loss": F.mse_loss(predicted.float(), noise)}
        if step is None:
            terms["bits_per_dim"] = bits_per_dim(self.variational_bound(x0).mean(), x0[0].numel())
        return terms

    def variational_bound(self, x0: Tensor) -> Tensor:
        """An unbiased estimate of L_T + Σ_{t=2..T} L_{t−1} + L_0 per image of `x0` (in [-1, 1]), in nats."""
        timesteps = self.hparams.timesteps
        first = torch.ones(len(x0), dtype=torch.long, device=x0.device)
        x1 = diffusion.q_sample(self.schedule, x0, first, torch.randn_like(x0))
        decoder = diffusion.decoder_nll(self.schedule, x0, x1, self.network(x1, first).float())
        t = diffusion.stratified_steps(len(x0), 2, timesteps, x0.device)
        x_t = diffusion.q_sample(self.schedule, x0, t, torch.randn_like(x0))
        denoising = diffusion.denoising_kl(self.schedule, x0, x_t, t, self.network(x_t, t).float())
        return diffusion.prior_kl(self.schedule, x0) + (timesteps - 1) * denoising + decoder

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Images in [0, 1] from pure noise, by `sampler`; every random number comes from `generator` (on the CPU,
        so a seed gives the same images on every device)."""
        schedule, eta = self.schedule, self.hparams.eta
        if self.hparams.sampler == "ancestral":
            steps = list(range(self.hparams.timesteps, 0, -1))
            def update(x: Tensor, t: Tensor, s: Tensor, eps: Tensor, noise: Tensor) -> Tensor:
                return diffusion.ancestral_step(schedule, x, t, eps, noise)
        else:
            steps = diffusion.ddim_steps(self.hparams.timesteps, self.hparams.sample_steps)
            def update(x: Tensor, t: Tensor, s: Tensor, eps: Tensor, noise: Tensor) -> Tensor:
                return diffusion.ddim_step(schedule, x, t, s, eps, noise, eta)
        images = in_batches(num_samples, SAMPLE_BATCH, lambda size: self.denoise(size, steps, update, generator))
        return (images + 1) / 2

    def denoise(self, num_samples: int, steps: list[int], update: Callable[..., Tensor],
                generator: torch.Generator | None) -> Tensor:
        """x_T ~ N(0, I) taken down through `steps` (descending) to x_0 in [-1, 1] by `update(x_t, t, s, ε_θ, z)`,
        z ~ N(0, I) drawn for every step but the last."""
        def normal() -> Tensor:
            return torch.randn(num_samples, *self.hparams.image_shape, generator=generator).to(self.device)

        x = normal()
        for t, s in zip(steps, [*steps[1:], 0], strict=True):
            t_batch = torch.full((num_samples,), t, device=self.device)
            noise = normal() if s > 0 else torch.zeros_like(x)
            x = update(x, t_batch, torch.full_like(t_batch, s), self.network(x, t_batch).float(), noise)
        return x
