import torch

from vae_lightning.analysis.grids import display_grid
from vae_lightning.analysis.traversal import most_active_dims, traversal_latents


def test_traversal_varies_only_the_chosen_dimension_per_row():
    base = torch.tensor([0.5, -1.0, 2.0, 0.0])
    offsets = torch.linspace(-3, 3, 7)
    grid = traversal_latents(base, dims=[2, 0], offsets=offsets)
    assert grid.shape == (2, 7, 4)
    torch.testing.assert_close(grid[0, :, 2], 2.0 + offsets)
    torch.testing.assert_close(grid[1, :, 0], 0.5 + offsets)
    held = torch.ones(2, 7, 4, dtype=torch.bool)
    held[0, :, 2] = False
    held[1, :, 0] = False
    torch.testing.assert_close(grid[held], base.expand(2, 7, 4)[held])


def test_most_active_dims_orders_by_kl():
    assert most_active_dims(torch.tensor([0.1, 3.0, 0.0, 1.5]), k=3) == [1, 3, 0]


def test_display_grid_enlarges_by_pixel_repetition_only():
    images = torch.rand(4, 1, 5, 5)
    small, large = display_grid(images, nrow=2), display_grid(images, nrow=2, scale=3)
    assert large.shape[-2:] == (small.shape[-2] * 3, small.shape[-1] * 3)
    torch.testing.assert_close(large[:, ::3, ::3], small)
    assert set(large.unique().tolist()) <= set(small.unique().tolist())
