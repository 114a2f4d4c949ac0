"""A running per-dimension mean that Lightning synchronises across processes."""

import torch
from torch import Tensor
from torchmetrics import Metric


class PerDimensionMean(Metric):
    """Mean over all images seen of a per-dimension term (e.g. KL per latent dimension), fed batch means."""

    full_state_update = False

    def __init__(self, num_dims: int) -> None:
        super().__init__()
        self.add_state("total", default=torch.zeros(num_dims, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, batch_mean: Tensor, batch_size: int) -> None:
        self.total += batch_mean.to(self.total.dtype) * batch_size
        self.count += batch_size

    def compute(self) -> Tensor:
        return (self.total / self.count).float()
