"""DCGAN's generator and discriminator (Radford et al. 2016), their depth taken from the image size.

The generator projects z to a small feature map with one transposed convolution, then doubles the side with
stride-2 transposed convolutions (batch norm and ReLU between, tanh at the output); the discriminator mirrors it with
stride-2 convolutions and LeakyReLU(0.2), batch norm on every layer but the first, and one convolution over the
whole small map to a logit. 28 × 28 images work down to 7 × 7 (two doublings), 64 × 64 to 4 × 4 (four, the paper's
network). Widths double per level from `width` at full resolution (the paper's 64 × 64 network: width 128).
"""

from collections.abc import Sequence

from torch import Tensor, nn

from vae_lightning.errors import ConfigError
from vae_lightning.models.nets.conv_vae import MIN_BOTTLENECK_SIDE, halvings


def level_widths(image_shape: Sequence[int], width: int) -> tuple[list[int], int]:
    """The widths from full resolution down (`width`, 2·`width`, …), one per stride-2 layer, and the smallest side."""
    _, height, side = image_shape
    levels = halvings(side, MIN_BOTTLENECK_SIDE)
    if height != side or levels == 0:
        raise ConfigError(
            f"model=dcgan needs square images whose side halves at least once to a map of ≥ {MIN_BOTTLENECK_SIDE} "
            f"pixels (e.g. 28 × 28 or 64 × 64); the data gives {height} × {side}. Resize the images (e.g. "
            "data.image_size=64) or pick another model."
        )
    return [width * 2**level for level in range(levels)], side // 2**levels


def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: every weight from N(0, 0.02), batch-norm scales from N(1, 0.02)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, latent_dim) → images in [-1, 1] (B, C, H, W)."""

    def __init__(self, latent_dim: int, image_shape: Sequence[int], width: int) -> None:
        super().__init__()
        widths, smallest = level_widths(image_shape, width)
        widths = widths[::-1]
        layers: list[nn.Module] = [nn.Unflatten(1, (latent_dim, 1, 1)),
                                   nn.ConvTranspose2d(latent_dim, widths[0], smallest, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], image_shape[0], 4, stride=2, padding=1), nn.Tanh()]
        self.layers = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: Tensor) -> Tensor:
        return self.layers(z)


class Discriminator(nn.Module):
    """Images in [-1, 1] (B, C, H, W) → one logit per image (B,), of the image being real."""

    def __init__(self, image_shape: Sequence[int], width: int) -> None:
        super().__init__()
        widths, smallest = level_widths(image_shape, width)
        layers: list[nn.Module] = [nn.Conv2d(image_shape[0], widths[0], 4, stride=2, padding=1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, smallest), nn.Flatten(0)]
        self.layers = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
