"""dSprites (`data=dsprites`): 737,280 binary 64 × 64 images of a square, ellipse or heart, one for every combination
of five factors (Matthey et al. 2017, https://github.com/deepmind/dsprites-dataset), the benchmark of β-VAE
(Higgins et al. 2017) and of most disentanglement metrics.

Factors, in the official file's order (row-major, pos_y fastest): shape (square, ellipse, heart; values 1, 2, 3),
scale (6 values, linspace(0.5, 1)), orientation (40 values, linspace(0, 2π): 0 and 2π are both in the grid, so the
first and last orientation draw the same image, as in the official file), pos_x and pos_y (32 values each,
linspace(0, 1)). The official file's constant first factor, colour, is left out of `factor_space`.

Where the images come from, in order: the official `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` under
`data.root` (or `data.root/dsprites/`), validated; else the built-in renderer (`dsprites_render`, 32 s measured on 2
shared CPU cores), whose grid is cached bit-packed and compressed (3 MB) under `data.cache_dir`. The file is never
downloaded. Either way the grid is held in memory as uint8, 3 GB (6 GB for a moment while `setup` copies it).

Splits. Disentanglement studies train on every image, so by default the training split is the whole grid and
validation and test are seeded random subsets of `num_eval_images` each, drawn from that same grid: they are NOT
held out, and their loss measures fit, not generalisation. `held_out_fraction` > 0 instead keeps that seeded share of
the combinations out of training and splits it evenly into validation and test, for a held-out ELBO.
"""

import hashlib
import json
import logging
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vae_lightning.atomic_files import write_atomic
from vae_lightning.data.base import NAME_RULE, InMemoryDataModule, InMemoryImages, as_float_images, is_int
from vae_lightning.data.dsprites_render import (
    FACTOR_NAMES,
    IMAGE_SIZE,
    RENDER_SETTINGS,
    RENDERER_VERSION,
    SHAPES,
    render_grid,
)
from vae_lightning.data.factors import FactorSpace
from vae_lightning.data.mnist_family import MNIST_FAMILY_RULES, resolve_cache_dir
from vae_lightning.errors import ConfigError, DataError

log = logging.getLogger("vae_lightning.data")

OFFICIAL_FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
OFFICIAL_PAGE = "https://github.com/deepmind/dsprites-dataset"
DSPRITES_FACTORS = FactorSpace(
    names=FACTOR_NAMES,
    sizes=(3, 6, 40, 32, 32),
    values=(
        (1.0, 2.0, 3.0),
        tuple(np.linspace(0.5, 1.0, 6).tolist()),
        tuple(np.linspace(0.0, 2 * np.pi, 40).tolist()),
        tuple(np.linspace(0.0, 1.0, 32).tolist()),
        tuple(np.linspace(0.0, 1.0, 32).tolist()),
    ),
)
EVAL_SPLIT_OFFSET = 2  # seed offset of the evaluation subsets; the base uses 0 (validation) and 1 (hidden labels)


def grid_classes(sizes: tuple[int, ...]) -> np.ndarray:
    """Every combination of factors with `sizes` values, row-major (last factor fastest): int64 (prod(sizes), K)."""
    return np.indices(sizes).reshape(len(sizes), -1).T


def load_official_npz(path: Path, space: FactorSpace) -> np.ndarray:
    """The images of an official-format dSprites file whose factors (after the constant colour) are `space`:
    uint8 (N, 64, 64) of 0 and 1, in grid order. Anything else raises a DataError naming the file and the problem."""
    n = space.num_combinations
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _invalid(path, "it is a single .npy array, not an .npz archive")
        with archive:
            missing = [key for key in ("imgs", "latents_classes", "latents_values") if key not in archive.files]
            if missing:
                held = ", ".join(archive.files) or "nothing"
                raise _invalid(path, f"it has no {', '.join(missing)} (it holds {held})")
            images, classes, values = archive["imgs"], archive["latents_classes"], archive["latents_values"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise _invalid(path, f"it cannot be read as a NumPy .npz archive ({type(error).__name__}: {error})") from error
    _check_array(path, "imgs", images, (n, IMAGE_SIZE, IMAGE_SIZE), np.uint8, "uint8")
    _check_array(path, "latents_classes", classes, (n, 1 + space.num_factors), np.integer, "integer")
    _check_array(path, "latents_values", values, (n, 1 + space.num_factors), np.floating, "float")
    if images.max(initial=0) > 1:
        raise _invalid(path, f"imgs holds values up to {images.max()}, not only 0 and 1")
    mismatch = np.flatnonzero((classes != grid_classes((1, *space.sizes))).any(axis=1))
    if len(mismatch):
        row = mismatch[0]
        grid = " × ".join(map(str, (1, *space.sizes)))
        raise _invalid(path, f"latents_classes do not enumerate the {grid} factor grid (colour first) row by row: "
                       f"row {row} is {classes[row].tolist()}")
    return images


def _check_array(path: Path, key: str, array: np.ndarray, shape: tuple[int, ...], kind: type, kind_name: str) -> None:
    if array.shape != shape or not np.issubdtype(array.dtype, kind):
        raise _invalid(path, f"{key} is {array.dtype} {array.shape}, expected {kind_name} {shape}")


def _invalid(path: Path, problem: str) -> DataError:
    return DataError(
        f"{path} is not a valid dSprites file: {problem}. Replace it with the official {OFFICIAL_FILE} from "
        f"{OFFICIAL_PAGE}, or remove it to use the built-in renderer."
    )


def rendered_grid(space: FactorSpace, cache_dir: Path) -> np.ndarray:
    """`render_grid(space)` from the cache under `cache_dir`, rendered and cached atomically when not there; the file
    name carries the renderer version and a digest of its settings and the factor values, so any change renders
    again."""
    digest = _digest(space)
    path = cache_dir / "dsprites" / f"rendered-v{RENDERER_VERSION}-{digest}.npz"
    expected = (space.num_combinations, IMAGE_SIZE, IMAGE_SIZE // 8)
    packed = _read_packed(path, expected)
    if packed is not None:
        log.info("Read the rendered dSprites grid from the cache %s", path)
        return packed
    started = time.perf_counter()
    packed = render_grid(space, f"Rendering the dSprites factor grid ({space.num_combinations:,} images) into {path}")
    log.info("Rendered %d dSprites images in %.0f s", space.num_combinations, time.perf_counter() - started)
    try:
        write_atomic(path, lambda handle: np.savez_compressed(handle, packed=packed))
    except OSError as error:
        raise DataError(f"Cannot write the rendered dSprites cache {path} ({error}). Set data.cache_dir to a "
                        "writable directory with room for it (a few MB).") from error
    return packed


def _digest(space: FactorSpace) -> str:
    key = json.dumps({"renderer": RENDER_SETTINGS, "sizes": space.sizes, "values": space.values}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _read_packed(path: Path, expected_shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached packed grid, or None when there is none or it cannot be used (it is then rendered again)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            packed = archive["packed"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        log.warning("Ignoring the unreadable cache file %s (%s); rendering again", path, type(error).__name__)
        return None
    if packed.dtype != np.uint8 or packed.shape != expected_shape:
        log.warning("Ignoring the cache file %s, which does not hold %s uint8; rendering again", path, expected_shape)
        return None
    return packed


class DSpritesDataModule(InMemoryDataModule):
    """dSprites as uint8 (N, 1, 64, 64) images of 0 and 255, labelled by shape, with their factors (`FactorSource`).

    `factor_grid` is the official protocol; tests substitute a small grid through a subclass.
    """

    factor_grid: FactorSpace = DSPRITES_FACTORS
    config_rules = {
        "root": MNIST_FAMILY_RULES["root"],
        "name": NAME_RULE,
        "num_eval_images": (lambda v: is_int(v) and v >= 1,
                            "an integer >= 1, the size of the validation and of the test subset (e.g. 10000)"),
        "held_out_fraction": (lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1,
                              "0 (train on every image) or a number in (0, 1), the share of combinations kept out "
                              "of training for validation and test"),
        "cache_dir": MNIST_FAMILY_RULES["cache_dir"],
    }

    def __init__(
        self,
        root: str = "data",
        name: str = "dsprites",
        num_eval_images: int = 10_000,
        held_out_fraction: float = 0.0,
        cache_dir: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.root = Path(root).expanduser().resolve()
        self.hparams.root = str(self.root)  # saved absolute, so the run can be analysed from any directory
        self.cache_dir = resolve_cache_dir(cache_dir)
        self._grid: torch.Tensor | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return SHAPES

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return 1, IMAGE_SIZE, IMAGE_SIZE

    @property
    def factor_space(self) -> FactorSpace:
        return self.factor_grid

    def official_file(self) -> Path | None:
        """The official file under `root` or `root/dsprites/`, if there is one."""
        return next((path for path in (self.root / OFFICIAL_FILE, self.root / "dsprites" / OFFICIAL_FILE)
                     if path.is_file()), None)

    def prepare_data(self) -> None:
        """Read the official file, or render (and cache) the grid, once before any process calls `setup`."""
        self.grid()

    def grid(self) -> torch.Tensor:
        """Every image of the factor grid in row-major order: uint8 (N, 1, 64, 64) of 0 and 255."""
        if self._grid is None:
            official = self.official_file()
            if official is not None:
                log.info("dSprites: reading the official file %s", official)
                binary = load_official_npz(official, self.factor_grid)
            else:
                binary = np.unpackbits(rendered_grid(self.factor_grid, self.cache_dir), axis=-1)
            np.multiply(binary, 255, out=binary)
            self._grid = torch.from_numpy(binary).unsqueeze(1)
        return self._grid

    def load_splits(self) -> dict[str, InMemoryImages]:
        grid = self.grid()
        labels = torch.arange(len(grid)) // (len(grid) // self.factor_grid.sizes[0])  # shape is the slowest factor
        everything = InMemoryImages(grid, labels, factors=torch.from_numpy(grid_classes(self.factor_grid.sizes)))
        return {split: everything.subset(chosen) for split, chosen in self._eval_split_indices(len(grid)).items()}

    def factors(self, split: str) -> torch.Tensor:
        """The factor combination (n, 5) int64 of every image of "train", "val" or "test", in the split's order."""
        return self.split(split).factors

    def images_for_factors(self, factors: torch.Tensor) -> torch.Tensor:
        """Float images (n, 1, 64, 64) in [0, 1] of factor combinations (n, 5) int64."""
        sizes = torch.tensor(self.factor_grid.sizes)
        if factors.ndim != 2 or factors.shape[1] != len(sizes):
            raise ValueError(f"images_for_factors needs factors of shape (n, {len(sizes)}), "
                             f"got {tuple(factors.shape)}.")
        outside = ((factors < 0) | (factors >= sizes)).any(dim=1)
        if outside.any():
            raise ValueError(f"Factor combination {factors[outside][0].tolist()} is outside the grid: factor k must be "
                             f"an index below {tuple(sizes.tolist())}[k].")
        return as_float_images(self.grid()[self.factor_grid.flat_index(factors)])

    def _eval_split_indices(self, n: int) -> dict[str, torch.Tensor]:
        """Grid indices of the training source and of the validation and test splits (see the module docstring)."""
        permutation = torch.randperm(n, generator=self._generator(offset=EVAL_SPLIT_OFFSET))
        fraction = self.hparams.held_out_fraction
        if fraction == 0:
            n_eval = self.hparams.num_eval_images
            if 2 * n_eval > n:
                raise ConfigError(f"data.num_eval_images={n_eval} is too large: the validation and test subsets "
                                  f"together take twice that, and the grid has {n} images. Lower it.")
            train, val, test = torch.arange(n), permutation[:n_eval], permutation[n_eval : 2 * n_eval]
        else:
            n_held = round(n * fraction)
            if not 2 <= n_held < n:
                raise ConfigError(f"data.held_out_fraction={fraction} of {n} images holds out {n_held}; validation, "
                                  "test and training each need at least one. Choose a fraction in (0, 1) that does.")
            train, val, test = permutation[n_held:], permutation[: n_held // 2], permutation[n_held // 2 : n_held]
        return {"train": train.sort().values, "val": val.sort().values, "test": test.sort().values}
