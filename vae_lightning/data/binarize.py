"""Binarised images for `data.binarize`, so that a Bernoulli decoder's −log p(x | z) is a likelihood of the data.

Modes:
- `none`: grey images unchanged;
- `dynamic`: a fresh Bernoulli draw x ~ Bernoulli(grey value) each time a training image is seen (Burda et al.
  2016), from the data module's seeded generator so a resumed run sees the same draws; the validation split gets one
  seeded draw, kept, so its numbers compare across epochs;
- `static`: one seeded Bernoulli draw of the training and validation splits, kept for the whole run;

In both, the test split is one draw fixed per dataset, the same whatever the run's seed (`TEST_DRAW_SEED`): every run
of a seed sweep is scored on the same binary images, so their test numbers pair.
- `threshold`: x > 0.5, deterministic.

Splits stay uint8 (0 or 255 once binarised), the in-memory format of `InMemoryImages`.
"""

import torch
from torch import Tensor

from vae_lightning.errors import ConfigError

BINARIZE_MODES = ("none", "dynamic", "static", "threshold")
# Added to data.seed for the fixed draws of the run's own splits: different draws per split, none equal to the split
# or label seeds.
SPLIT_SEED_OFFSETS = {"train": 100, "val": 101}
# The seed of the test split's one draw, whatever data.seed is; 102 is the draw seed 0 made before it was fixed, so
# the test numbers of seed-0 runs stand.
TEST_DRAW_SEED = 102
# Added to data.seed for the generator of the dynamic training draws (saved in checkpoints with the shuffle state).
DYNAMIC_SEED_OFFSET = 103
_CHUNK = 4096  # images per Bernoulli draw: bounds the float copy of a large split


def check_binarize_mode(value: object) -> str:
    """`value` if it is a binarisation mode; a ConfigError naming `data.binarize` otherwise."""
    if value not in BINARIZE_MODES:
        raise ConfigError(
            f"data.binarize={value!r} is not allowed. Choose 'none' (grey pixels), 'dynamic' (a fresh Bernoulli draw "
            "of each training image every time it is seen; fixed draws for val and test), 'static' (one seeded draw "
            "of every split, kept) or 'threshold' (pixel > 0.5). A Bernoulli decoder is a likelihood only on "
            "binarised data."
        )
    return value


def binarize(images: Tensor, mode: str, generator: torch.Generator | None = None) -> Tensor:
    """Float images in [0, 1] → {0, 1} in the same dtype: a Bernoulli draw with the pixel as probability for
    `dynamic` and `static` (which differ only in how often it is called), x > 0.5 for `threshold`, unchanged for
    `none`."""
    check_binarize_mode(mode)
    if mode == "none":
        return images
    if mode == "threshold":
        return (images > 0.5).to(images.dtype)
    u = torch.rand(images.shape, generator=generator, dtype=images.dtype,
                   device=generator.device if generator is not None else images.device)
    return (u.to(images.device) < images).to(images.dtype)


def fixed_binarization(images: Tensor, seed: int) -> Tensor:
    """One Bernoulli draw of a whole uint8 split (N, C, H, W) with probability pixel/255, as uint8 0/255; the same
    draw for the same seed and images."""
    generator = torch.Generator().manual_seed(seed)
    chunks = [binarize(chunk.to(torch.float32).div(255), "static", generator) for chunk in images.split(_CHUNK)]
    return (torch.cat(chunks) * 255).to(torch.uint8) if chunks else images.clone()


def binarize_split(images: Tensor, mode: str, seed: int, split: str) -> Tensor:
    """A uint8 split as it is held for `mode`: thresholded, drawn once (`fixed_draw_seed`), or unchanged (`none`,
    and the `dynamic` training split, whose batches `binarize` draws as they are loaded)."""
    check_binarize_mode(mode)
    if mode == "none" or (mode == "dynamic" and split == "train"):
        return images
    if mode == "threshold":
        return torch.where(images > 127, 255, 0).to(torch.uint8)  # k/255 > 0.5 ⇔ k ≥ 128
    return fixed_binarization(images, fixed_draw_seed(seed, split))


def fixed_draw_seed(seed: int, split: str) -> int:
    """The seed of a split's one kept draw: the run's `seed` + the split's offset for train and val, which the run's
    seed carves anyway, and `TEST_DRAW_SEED` for the test split, which every run of a dataset shares."""
    return TEST_DRAW_SEED if split == "test" else seed + SPLIT_SEED_OFFSETS[split]


def binarizes_per_batch(mode: str, split: str) -> bool:
    """Whether `split`'s batches must be drawn with `binarize` when loaded: only dynamic training batches."""
    return mode == "dynamic" and split == "train"
