"""A running per-dimension mean that Lightning synchronises across processes."""

import torch
from torch import Tensor
from torchmetrics import Metric


class PerDimensionMean(Metric):
    """Mean over all images seen of a (batch, dims) tensor, kept per dimension (e.g. KL per latent dimension)."""

    full_state_update = False

    def __init__(self, num_dims: int) -> None:
        super().__init__()
        self.add_state("total", default=torch.zeros(num_dims, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, values: Tensor) -> None:
        self.total += values.detach().sum(0).to(self.total.dtype)
        self.count += values.shape[0]

    def compute(self) -> Tensor:
        return (self.total / self.count).float()
