"""Ground-truth generative factors: what a data module exposes so disentanglement metrics can score a code.

A data set whose images are rendered from known factors (dSprites: shape, scale, orientation, x and y position)
describes them with a `FactorSpace` and renders any combination on request; metrics then sample factors, ask for the
matching images and compare the encoder's code with the factors that made them. Data without known factors have none.
"""

import dataclasses
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@dataclasses.dataclass(frozen=True)
class FactorSpace:
    """Discrete factors: factor k takes `sizes[k]` values, indexed 0 … sizes[k] − 1; `values[k]` are their meanings
    (e.g. the scale 0.5 … 1.0), for labels and plots."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    values: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not (len(self.names) == len(self.sizes) == len(self.values)):
            raise ValueError("FactorSpace needs one name, size and value list per factor.")
        if any(len(v) != s for v, s in zip(self.values, self.sizes, strict=True)):
            raise ValueError("FactorSpace: each factor's value list must have `sizes[k]` entries.")

    @property
    def num_factors(self) -> int:
        return len(self.sizes)

    @property
    def num_combinations(self) -> int:
        total = 1
        for size in self.sizes:
            total *= size
        return total

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """`n` factor combinations (n, K) int64, each factor drawn uniformly and independently."""
        return torch.stack([torch.randint(size, (n,), generator=generator) for size in self.sizes], dim=1)

    def flat_index(self, factors: Tensor) -> Tensor:
        """Row-major index (n,) of each combination (n, K) in the full grid, the last factor varying fastest."""
        index = torch.zeros(len(factors), dtype=torch.long)
        for k, size in enumerate(self.sizes):
            index = index * size + factors[:, k].long()
        return index


@runtime_checkable
class FactorSource(Protocol):
    """A data module with known factors. `factor_space` is None when the data has none."""

    @property
    def factor_space(self) -> FactorSpace | None: ...

    def images_for_factors(self, factors: Tensor) -> Tensor:
        """Float images (n, C, H, W) in [0, 1] rendered from factor combinations (n, K) int64."""
        ...
