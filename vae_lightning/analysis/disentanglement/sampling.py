"""Factor combinations → images → codes, in bounded chunks, for every disentanglement metric.

Each metric draws from its own generator, spawned from the run's seed, so adding or resizing one metric leaves the
others' numbers unchanged.
"""

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from vae_lightning.data.factors import FactorSource, FactorSpace
from vae_lightning.errors import DataError

METRIC_NAMES = ("mig", "dci", "sap", "factor_vae_score", "beta_vae_score")


def metric_generators(seed: int) -> dict[str, torch.Generator]:
    """One independent torch.Generator per metric, from `numpy.random.SeedSequence(seed).spawn`."""
    children = np.random.SeedSequence(seed).spawn(len(METRIC_NAMES))
    return {name: torch.Generator().manual_seed(int(child.generate_state(1)[0]))
            for name, child in zip(METRIC_NAMES, children, strict=True)}


def sklearn_seed(generator: torch.Generator) -> int:
    """A seed for an sklearn estimator, drawn from the metric's generator so the whole metric follows one seed."""
    return int(torch.randint(2**31 - 1, (1,), generator=generator))


def factor_space_of(source: FactorSource, data_name: str) -> FactorSpace:
    """The source's factor space, or a DataError when the data has no known factors or a factor cannot vary."""
    space = source.factor_space
    if space is None:
        raise DataError(f"data={data_name} has no known generative factors; factor metrics need data with factors, "
                        f"e.g. data=dsprites.")
    constant = [name for name, size in zip(space.names, space.sizes, strict=True) if size < 2]
    if constant:
        raise DataError(f"data={data_name}: factor(s) {', '.join(constant)} take a single value, so no code can be "
                        f"scored against them; leave them out of the data's FactorSpace.")
    return space


class CodeSampler:
    """Renders factor combinations with `source` and encodes them with `encode`, at most `batch_size` images a call."""

    def __init__(self, source: FactorSource, encode: Callable[[Tensor], Tensor], batch_size: int) -> None:
        self.source = source
        self.encode = encode
        self.batch_size = batch_size

    @torch.no_grad()
    def codes(self, factors: Tensor) -> Tensor:
        """Codes (n, D) float64 on the CPU of the images rendered from factor combinations (n, K)."""
        chunks = []
        for start in range(0, len(factors), self.batch_size):
            images = self.source.images_for_factors(factors[start:start + self.batch_size])
            codes = self.encode(images)
            if codes.ndim != 2 or len(codes) != len(images):
                raise ValueError(f"encode returned shape {tuple(codes.shape)} for {len(images)} images: factor "
                                 f"metrics need one code vector per image, shape (n, D).")
            chunks.append(codes.detach().double().cpu())
        return torch.cat(chunks)

    def grouped(self, factors: Tensor, reduce: Callable[[Tensor], Tensor]) -> Tensor:
        """`reduce` applied to the codes (m, B, D) of groups of B combinations (N, B, K), a few groups at a time.

        Only the reduced values (N, …) are kept, so memory stays bounded however many groups there are."""
        groups_per_call = max(1, self.batch_size // factors.shape[1])
        reduced = []
        for start in range(0, len(factors), groups_per_call):
            chunk = factors[start:start + groups_per_call]
            reduced.append(reduce(self.codes(chunk.flatten(0, 1)).view(len(chunk), chunk.shape[1], -1)))
        return torch.cat(reduced)

    def sample(self, space: FactorSpace, n: int, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`n` random factor combinations (n, K) int64 and their codes (n, D) float64, as numpy arrays."""
        factors = space.sample(n, generator)
        return self.codes(factors).numpy(), factors.numpy()


class EncodedGrid(CodeSampler):
    """Every combination of the factor grid encoded once, then looked up by its grid index.

    For a deterministic encoder (the posterior mean μ) the codes are exactly those `CodeSampler` would compute, and
    the ~3 million samples of the five metrics cost one pass over the grid."""

    def __init__(self, source: FactorSource, encode: Callable[[Tensor], Tensor], batch_size: int,
                 space: FactorSpace, progress: Callable[[str], None]) -> None:
        super().__init__(source, encode, batch_size)
        self.space = space
        every = torch.from_numpy(np.indices(space.sizes).reshape(space.num_factors, -1).T.copy())
        chunk = 64 * batch_size
        parts = []
        for start in range(0, len(every), chunk):
            progress(f"encoding the factor grid: {start:,} of {len(every):,} images")
            parts.append(super().codes(every[start:start + chunk]))
        self.grid_codes = torch.cat(parts)

    def codes(self, factors: Tensor) -> Tensor:
        return self.grid_codes[self.space.flat_index(factors)]
