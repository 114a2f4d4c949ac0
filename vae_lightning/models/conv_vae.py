"""The convolutional VAE as plain `nn.Module`s: encoder → (μ, log σ²), reparameterised sample, decoder → logits.

Each stride-2 convolution halves the image side, so an image side must be divisible by 2**len(channels); the decoder
mirrors the encoder with transposed convolutions. With the defaults (channels 32, 64; kernel 4; hidden 256; latent 32)
on 28×28 images this is the reference architecture of the benchmarks: about 10.1 MFLOP per image forward.
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
    logits: Tensor
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


class ConvEncoder(nn.Module):
    """x (B, C, H, W) → μ, log σ² (B, latent_dim)."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], kernel_size: int, hidden_dim: int,
                 latent_dim: int) -> None:
        super().__init__()
        in_channels, height, width = image_shape
        padding = _same_halving_padding(kernel_size)
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size, stride=2, padding=padding), nn.ReLU()]
            in_channels = out_channels
        flat = channels[-1] * bottleneck_side(height, len(channels)) * bottleneck_side(width, len(channels))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(flat, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2 * latent_dim))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, raw_log_var = self.head(self.features(x)).chunk(2, dim=1)
        return mu, LOG_VAR_BOUND * torch.tanh(raw_log_var / LOG_VAR_BOUND)


class ConvDecoder(nn.Module):
    """z (B, latent_dim) → per-pixel logits (B, C, H, W): the mirror image of `ConvEncoder`."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], kernel_size: int, hidden_dim: int,
                 latent_dim: int) -> None:
        super().__init__()
        out_channels, height, width = image_shape
        side_h, side_w = bottleneck_side(height, len(channels)), bottleneck_side(width, len(channels))
        self.head = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, channels[-1] * side_h * side_w), nn.ReLU(),
            nn.Unflatten(1, (channels[-1], side_h, side_w)),
        )
        padding, output_padding = _same_halving_padding(kernel_size), _transposed_output_padding(kernel_size)
        widths = [*reversed(channels), out_channels]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2, padding=padding,
                                             output_padding=output_padding))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.upsample = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.head(z))


class ConvVAE(nn.Module):
    """Encoder, reparameterised sample z = μ + σ·ε (Kingma & Welling 2014), decoder."""

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 32,
                 channels: Sequence[int] = (32, 64), kernel_size: int = 4, hidden_dim: int = 256) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = ConvEncoder(image_shape, channels, kernel_size, hidden_dim, latent_dim)
        self.decoder = ConvDecoder(image_shape, channels, kernel_size, hidden_dim, latent_dim)

    def forward(self, x: Tensor) -> VAEOutput:
        mu, log_var = self.encoder(x)
        z = reparameterize(mu, log_var)
        return VAEOutput(self.decoder(z), mu, log_var, z)


def reparameterize(mu: Tensor, log_var: Tensor) -> Tensor:
    """Sample z ~ N(μ, σ²) as a differentiable function of μ and log σ²."""
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
