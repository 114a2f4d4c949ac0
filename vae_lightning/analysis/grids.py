"""Image grids for display: generated at the data's resolution, enlarged only here, by nearest-neighbour."""

import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid


def display_grid(images: Tensor, nrow: int, scale: int = 1) -> Tensor:
    """(N, C, H, W) images in [0, 1] → one (C, H', W') grid, enlarged `scale`× with no interpolation blur."""
    grid = make_grid(images.clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    return F.interpolate(grid[None], scale_factor=scale, mode="nearest")[0] if scale > 1 else grid
