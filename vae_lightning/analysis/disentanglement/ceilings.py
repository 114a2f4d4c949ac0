"""Each metric's ceiling on a data set: the five metrics scored on the true factors themselves as the code.

A perfect code does not score 1 on every metric: MIG's 20 bins cannot separate dSprites' 40 orientations, and SAP's
one-dimensional linear SVM cannot carve 32 positions into one-vs-rest intervals. A model's score means something only
beside this ceiling, computed with the same settings and seed.
"""

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from vae_lightning.analysis.disentanglement.settings import FactorMetricSettings
from vae_lightning.analysis.disentanglement.suite import factor_metrics
from vae_lightning.data.factors import FactorSpace


class TrueFactorCodes:
    """A FactorSource whose "image" of a factor combination is the factors' values (n, K), e.g. dSprites' scale in
    [0.5, 1] and orientation in radians: with the identity as the encoder, the code is the factors themselves."""

    def __init__(self, space: FactorSpace) -> None:
        self.factor_space = space
        self._values = [torch.tensor(values, dtype=torch.float64) for values in space.values]

    def images_for_factors(self, factors: Tensor) -> Tensor:
        return torch.stack([self._values[k][factors[:, k]] for k in range(len(self._values))], dim=1)


def true_factor_ceilings(space: FactorSpace, settings: FactorMetricSettings, seed: int,
                         code: Callable[[Tensor], Tensor] = lambda values: values,
                         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The five metrics of the code `code(values)` of the true factors' values (the values themselves by default);
    `progress` receives a line as each metric starts."""
    return factor_metrics(TrueFactorCodes(space), code, settings, seed, progress, data_name="true factors")
