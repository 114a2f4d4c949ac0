"""A small U-Net that predicts the noise ε of a diffused image x_t at step t (Ho et al. 2020, after PixelCNN++ and
Wide ResNets): a sinusoidal embedding of t, residual blocks that add it to their features, self-attention at the
lowest resolution, skip connections from each level down to the level up.

One resolution per entry of `channels`: 28 × 28 works at 28, 14 and 7, 64 × 64 at 64, 32, 16 and 8, where attention
over every position (≤ 169 of them) stays cheap. Group normalisation in 8 groups (Ho et al. used 32 on wider nets).
"""

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from vae_lightning.errors import ConfigError
from vae_lightning.models.nets.conv_vae import halvings

GROUPS = 8
# Halving stops above this side: the lowest level keeps 7 × 7 (28 × 28 images) to 13 × 13 positions for attention.
MIN_SIDE = 7


def derived_unet_channels(image_side: int, width: int) -> tuple[int, ...]:
    """`width` at full resolution, twice that at every lower one (Ho et al.'s multipliers 1, 2, 2, 2 for CIFAR-10):
    28 → (w, 2w, 2w), 64 → (w, 2w, 2w, 2w)."""
    return (width, *[2 * width] * halvings(image_side, MIN_SIDE))


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoids of t at geometrically spaced frequencies (Vaswani et al. 2017), (B,) → (B, dim)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResidualBlock(nn.Module):
    """norm → SiLU → conv, plus the step's embedding, → norm → SiLU → dropout → conv, added to a 1×1 projection."""

    def __init__(self, in_channels: int, out_channels: int, embedding_dim: int, dropout: float) -> None:
        super().__init__()
        self.first = nn.Sequential(nn.GroupNorm(GROUPS, in_channels), nn.SiLU(),
                                   nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.step = nn.Sequential(nn.SiLU(), nn.Linear(embedding_dim, out_channels))
        self.second = nn.Sequential(nn.GroupNorm(GROUPS, out_channels), nn.SiLU(), nn.Dropout(dropout),
                                    nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor, embedding: Tensor) -> Tensor:
        h = self.first(x) + self.step(embedding)[:, :, None, None]
        return self.skip(x) + self.second(h)


class SelfAttention(nn.Module):
    """One-head self-attention over all positions, added to its input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).flatten(2).transpose(1, 2).chunk(3, dim=2)  # (B, HW, C) each
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        return x + self.out(attended.transpose(1, 2).reshape(b, c, h, w))


class Level(nn.Module):
    """The blocks of one resolution, each followed by attention when the level has it."""

    def __init__(self, in_channels: Sequence[int], out_channels: int, embedding_dim: int, dropout: float,
                 attention: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualBlock(c, out_channels, embedding_dim, dropout) for c in in_channels)
        self.attention = nn.ModuleList(SelfAttention(out_channels) if attention else nn.Identity()
                                       for _ in in_channels)


class UNet(nn.Module):
    """(x_t (B, C, H, W), t (B,)) → predicted ε (B, C, H, W)."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], num_res_blocks: int = 1,
                 attention: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        image_channels, height, width = image_shape
        levels = len(channels)
        if (not levels or any(side % 2 ** (levels - 1) for side in (height, width))
                or any(c < GROUPS or c % GROUPS for c in channels)):
            raise ConfigError(
                f"model.channels={list(channels)} does not fit {height}×{width} images: each entry after the first "
                f"halves the image, so both sides must be divisible by 2 ** (entries − 1), and every entry must be "
                f"a positive multiple of {GROUPS} (the groups of its normalisation). Use fewer entries, or null to "
                "derive them from model.width."
            )
        embedding_dim = 4 * channels[0]
        self.base_dim = channels[0]
        self.embed = nn.Sequential(nn.Linear(channels[0], embedding_dim), nn.SiLU(),
                                   nn.Linear(embedding_dim, embedding_dim))
        self.stem = nn.Conv2d(image_channels, channels[0], 3, padding=1)
        lowest = levels - 1
        skips, previous = [channels[0]], channels[0]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        for level, c in enumerate(channels):
            inputs = [previous] + [c] * (num_res_blocks - 1)
            self.down.append(Level(inputs, c, embedding_dim, dropout, attention and level == lowest))
            skips += [c] * num_res_blocks
            previous = c
            if level < lowest:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.middle = nn.ModuleList(ResidualBlock(previous, previous, embedding_dim, dropout) for _ in range(2))
        self.middle_attention = SelfAttention(previous) if attention else nn.Identity()
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level in reversed(range(levels)):
            c = channels[level]
            inputs = []
            for _ in range(num_res_blocks + 1):
                inputs.append(previous + skips.pop())
                previous = c
            self.up.append(Level(inputs, c, embedding_dim, dropout, attention and level == lowest))
            if level > 0:
                self.upsample.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                                   nn.Conv2d(c, c, 3, padding=1)))
        self.head = nn.Sequential(nn.GroupNorm(GROUPS, previous), nn.SiLU(), nn.Conv2d(previous, image_channels, 3,
                                                                                       padding=1))
        nn.init.zeros_(self.head[-1].weight)  # starts by predicting ε = 0, as Ho et al. initialise the last layer
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        embedding = self.embed(timestep_embedding(t, self.base_dim))
        h = self.stem(x)
        skips = [h]
        for level, blocks in enumerate(self.down):
            for block, attention in zip(blocks.blocks, blocks.attention, strict=True):
                h = attention(block(h, embedding))
                skips.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)
                skips.append(h)
        h = self.middle[1](self.middle_attention(self.middle[0](h, embedding)), embedding)
        for level, blocks in enumerate(self.up):
            for block, attention in zip(blocks.blocks, blocks.attention, strict=True):
                h = attention(block(torch.cat([h, skips.pop()], dim=1), embedding))
            if level < len(self.upsample):
                h = self.upsample[level](h)
        return self.head(h)
