"""The convolutional VAE as plain `nn.Module`s: encoder → (μ, log σ²), reparameterised sample, decoder → the
parameters of p(x | z) per pixel (how many channels the likelihood needs: `DecoderLikelihood.decoder_channels`).

Each stride-2 convolution halves the image side, so an image side must be divisible by 2**len(channels); the decoder
mirrors the encoder with transposed convolutions. Without explicit channels the depth follows the image size
(`derived_channels`): 28×28 gets (32, 64) — the reference architecture of the benchmarks, about 10.1 MFLOP per image
forward — and 64×64 gets (32, 64, 128, 256).

The ReLUs work in place: the same values and gradients, one activation buffer fewer per layer to allocate, which
made float32 evaluation 1.4× faster on CPU (benchmarks/README.md, eval_rate.py).

A conditional VAE feeds a condition vector c (a one-hot class or a learned embedding) beside the image features into
the encoder's head and beside z into the decoder, so q(z | x, c) and p(x | z, c); `condition_dim` 0 is the plain VAE.
"""

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from vae_lightning.errors import ConfigError

# log σ² is squashed into (-LOG_VAR_BOUND, LOG_VAR_BOUND): σ² in (4.5e-5, 2.2e4). Without a bound a large β or a
# large learning rate can push exp(log σ²) to inf or the KL's -log σ² to inf; tanh keeps gradients alive inside.
LOG_VAR_BOUND = 10.0


class VAEOutput(NamedTuple):
    decoder_output: Tensor  # the parameters of p(x | z), (B, output_channels, H, W)
    mu: Tensor
    log_var: Tensor
    z: Tensor


def _same_halving_padding(kernel_size: int) -> int:
    """Padding that makes a stride-2 convolution map an even side n to exactly n / 2, for odd and even kernels."""
    return (kernel_size - 1) // 2


def _transposed_output_padding(kernel_size: int) -> int:
    """Output padding that makes the stride-2 transposed convolution map n back to exactly 2n."""
    return 2 + 2 * _same_halving_padding(kernel_size) - kernel_size


def bottleneck_side(image_side: int, num_layers: int) -> int:
    """Side of the feature map after `num_layers` stride-2 convolutions; raises when the image cannot be halved."""
    if image_side % (2**num_layers) != 0:
        raise ConfigError(
            f"An image side of {image_side} pixels cannot pass through {num_layers} stride-2 convolution layers "
            f"(model.channels has {num_layers} entries): the side must be divisible by {2**num_layers}. "
            "Use fewer entries in model.channels or resize the images."
        )
    return image_side // (2**num_layers)


# Halving stops at this side: a smaller bottleneck has too few positions for a stride-2 kernel to add anything.
MIN_BOTTLENECK_SIDE = 4
FIRST_CHANNELS = 32
MAX_CHANNELS = 256


def halvings(image_side: int, min_side: int) -> int:
    """How often an image side can be halved exactly while the half stays at least `min_side`: 28 → 2 (7 × 7) and
    64 → 4 (4 × 4) for `min_side` 4. The depth of every network here that works down to a small feature map."""
    count = 0
    while image_side % 2 == 0 and image_side // 2 >= min_side:
        image_side //= 2
        count += 1
    return count


def derived_channels(image_side: int) -> tuple[int, ...]:
    """One stride-2 layer per halving while the side stays even and at least MIN_BOTTLENECK_SIDE, doubling the width
    from FIRST_CHANNELS up to MAX_CHANNELS: 28 → (32, 64) with a 7×7 bottleneck, 64 → (32, 64, 128, 256) with 4×4."""
    channels = [min(FIRST_CHANNELS * 2**i, MAX_CHANNELS) for i in range(halvings(image_side, MIN_BOTTLENECK_SIDE))]
    if not channels:
        raise ConfigError(
            f"An image side of {image_side} pixels cannot be halved even once while keeping a bottleneck of at "
            f"least {MIN_BOTTLENECK_SIDE} pixels. Use images of at least {2 * MIN_BOTTLENECK_SIDE} pixels with an even "
            "side (e.g. data.image_size=64), or set model.channels explicitly."
        )
    return tuple(channels)


class ConvEncoder(nn.Module):
    """x (B, C, H, W) and an optional condition c (B, condition_dim) → μ, log σ² (B, latent_dim)."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], kernel_size: int, hidden_dim: int,
                 latent_dim: int, condition_dim: int = 0) -> None:
        super().__init__()
        in_channels, height, width = image_shape
        padding = _same_halving_padding(kernel_size)
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size, stride=2, padding=padding),
                       nn.ReLU(inplace=True)]
            in_channels = out_channels
        flat = channels[-1] * bottleneck_side(height, len(channels)) * bottleneck_side(width, len(channels))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(flat + condition_dim, hidden_dim), nn.ReLU(inplace=True),
                                  nn.Linear(hidden_dim, 2 * latent_dim))

    def forward(self, x: Tensor, condition: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # float32 out of any autocast region: the KL and the estimators built on μ, log σ² stay exact in bf16-mixed
        mu, raw_log_var = self.head(_with_condition(self.features(x), condition)).float().chunk(2, dim=1)
        return mu, LOG_VAR_BOUND * torch.tanh(raw_log_var / LOG_VAR_BOUND)


class ConvDecoder(nn.Module):
    """z (B, latent_dim) and an optional condition → per-pixel parameters of p(x | z) (B, output_channels, H, W): the
    mirror of `ConvEncoder`; output_channels defaults to the image's channels (one logit per channel value)."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], kernel_size: int, hidden_dim: int,
                 latent_dim: int, condition_dim: int = 0, output_channels: int | None = None) -> None:
        super().__init__()
        image_channels, height, width = image_shape
        out_channels = image_channels if output_channels is None else output_channels
        side_h, side_w = bottleneck_side(height, len(channels)), bottleneck_side(width, len(channels))
        self.head = nn.Sequential(
            nn.Linear(latent_dim + condition_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, channels[-1] * side_h * side_w), nn.ReLU(inplace=True),
            nn.Unflatten(1, (channels[-1], side_h, side_w)),
        )
        padding, output_padding = _same_halving_padding(kernel_size), _transposed_output_padding(kernel_size)
        widths = [*reversed(channels), out_channels]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2, padding=padding,
                                             output_padding=output_padding))
            if i < len(widths) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.upsample = nn.Sequential(*layers)

    def forward(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        # float32 out, as the encoder's: the likelihood sums thousands of pixels, which bfloat16 would round
        return self.upsample(self.head(_with_condition(z, condition))).float()


def _with_condition(features: Tensor, condition: Tensor | None) -> Tensor:
    return features if condition is None else torch.cat([features, condition.to(features)], dim=1)


class ConvVAE(nn.Module):
    """Encoder, reparameterised sample z = μ + σ·ε (Kingma & Welling 2014), decoder; optionally conditioned."""

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 32,
                 channels: Sequence[int] | None = None, kernel_size: int = 4, hidden_dim: int = 256,
                 condition_dim: int = 0, output_channels: int | None = None) -> None:
        super().__init__()
        channels = derived_channels(min(image_shape[1:])) if channels is None else tuple(channels)
        self.latent_dim = latent_dim
        self.channels = channels
        self.encoder = ConvEncoder(image_shape, channels, kernel_size, hidden_dim, latent_dim, condition_dim)
        self.decoder = ConvDecoder(image_shape, channels, kernel_size, hidden_dim, latent_dim, condition_dim,
                                   output_channels)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> VAEOutput:
        mu, log_var = self.encoder(x, condition)
        z = reparameterize(mu, log_var)
        return VAEOutput(self.decoder(z, condition), mu, log_var, z)


def reparameterize(mu: Tensor, log_var: Tensor) -> Tensor:
    """Sample z ~ N(μ, σ²) as a differentiable function of μ and log σ²."""
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
