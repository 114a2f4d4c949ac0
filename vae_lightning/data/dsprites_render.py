"""A deterministic renderer of dSprites-like images (Matthey et al. 2017): a white square, ellipse or heart on black,
64 × 64 pixels, scaled, rotated and placed at a position, every pixel on (its centre inside the shape) or off.

DeepMind never published the generator of the official file, so the outlines and the pixel mapping below are our
own, chosen to look like it; the factor grid, its order and the image format are the official ones.

Geometry, in pixel units with the image spanning [0, 64] on both axes and pixel (row r, column c) centred at
(c + 0.5, r + 0.5):
- each shape is defined in a frame where the square is [-1, 1]²: the square; an ellipse with semi-axes 1 (along x)
  and 0.5; the heart (x² + y² − 1)³ ≤ x²y³, shifted to centre its bounding box and shrunk to width 2, point down;
- the frame is scaled by `HALF_SIZE_PX` × scale (a 20-pixel square at scale 1, 10 pixels at scale 0.5), rotated
  counter-clockwise on screen by the orientation, and centred at `CENTRE_RANGE_PX[0]` + `CENTRE_STEP_PX` × 31 ×
  position on each axis: 8.75 … 55.25 pixels in steps of 1.5 for the 32 positions; pos_x moves the sprite right,
  pos_y down (rows grow with pos_y). Sprites near the border are clipped, as in the official file.

Rendering is fast because a position only shifts a sprite: each (shape, scale, orientation) is drawn once per
sub-pixel phase of its centre (two phases per axis on the official grid) on a canvas large enough for every shift,
and each image is a 64 × 64 window of that canvas.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from tqdm import tqdm

from vae_lightning.data.factors import FactorSpace

IMAGE_SIZE = 64
SHAPES = ("square", "ellipse", "heart")  # shape value 1, 2, 3 of the official `latents_values`
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
HALF_SIZE_PX = 10.0  # half the side of the square at scale 1
CENTRE_RANGE_PX = (8.75, 55.25)  # the sprite centre at position 0 and 1; the official file spans roughly 8 … 56
ELLIPSE_SEMI_MINOR = 0.5
# The heart curve spans x ∈ ±1.139, y ∈ [−1, 1.2365]; these centre its bounding box and make it 2 wide.
HEART_WIDTH, HEART_MID_Y = 1.139, 0.11825
RENDERER_VERSION = 1  # bump on any change to the drawing code, so cached grids are rendered again
# Everything the drawing depends on besides the code and the factor values: part of the cache key.
RENDER_SETTINGS = {"version": RENDERER_VERSION, "half_size_px": HALF_SIZE_PX, "centre_range_px": CENTRE_RANGE_PX,
                   "ellipse_semi_minor": ELLIPSE_SEMI_MINOR, "heart": (HEART_WIDTH, HEART_MID_Y)}


def shape_mask(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether points (x right, y up) of the shape frame lie inside `shape`; the square is [-1, 1]²."""
    if shape == "square":
        return np.maximum(np.abs(x), np.abs(y)) <= 1
    if shape == "ellipse":
        return x**2 + (y / ELLIPSE_SEMI_MINOR) ** 2 <= 1
    if shape == "heart":
        hx, hy = x * HEART_WIDTH, y * HEART_WIDTH + HEART_MID_Y
        return (hx**2 + hy**2 - 1) ** 3 <= hx**2 * hy**3
    raise ValueError(f"Unknown dSprites shape {shape!r}; expected one of {', '.join(SHAPES)}.")


def sprite_mask(shape: str, scale: float, orientation: float, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Whether pixels whose centres lie (dx right, dy down) pixels from the sprite centre are inside the sprite
    rotated counter-clockwise on screen by `orientation` radians; the image-plane definition of every image."""
    size = HALF_SIZE_PX * scale
    cos, sin = np.cos(orientation), np.sin(orientation)
    up = -dy
    return shape_mask(shape, (dx * cos + up * sin) / size, (up * cos - dx * sin) / size)


def centre_px(position: np.ndarray) -> np.ndarray:
    """The sprite centre in pixels for positions in [0, 1], rounded to 1e-6 so equal sub-pixel phases compare equal."""
    low, high = CENTRE_RANGE_PX
    return np.round(low + (high - low) * np.asarray(position, dtype=np.float64), 6)


def render_block(shape: str, scale: float, orientations: np.ndarray, pos_x: np.ndarray,
                 pos_y: np.ndarray) -> np.ndarray:
    """Every combination of `orientations` × `pos_x` × `pos_y` for one shape and scale: bool (O, X, Y, 64, 64),
    in that order (pos_y fastest, as in the official file)."""
    start_x, phase_x, phases_x = _split_centres(centre_px(pos_x))
    start_y, phase_y, phases_y = _split_centres(centre_px(pos_y))
    # A canvas row/column m covers image row/column m − margin when the sprite's integer centre is 0, so the window
    # starting at margin − n shows the sprite centred at n + phase: every centre's window lies inside the canvas.
    margin = int(max(start_x.max(), start_y.max()))
    side = margin - int(min(start_x.min(), start_y.min())) + IMAGE_SIZE
    offsets = np.arange(side) - margin + 0.5
    orientations = np.asarray(orientations, dtype=np.float64)[:, None, None, None, None]
    dx = offsets[None, None, None, None, :] - phases_x[None, :, None, None, None]
    dy = offsets[None, None, None, :, None] - phases_y[None, None, :, None, None]
    canvases = sprite_mask(shape, scale, orientations, dx, dy)  # (O, phases x, phases y, side, side)
    windows = sliding_window_view(canvases, (IMAGE_SIZE, IMAGE_SIZE), axis=(3, 4))
    o = np.arange(len(orientations))[:, None, None]
    return windows[o, phase_x[None, :, None], phase_y[None, None, :],
                   (margin - start_y)[None, None, :], (margin - start_x)[None, :, None]]


def _split_centres(centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each centre as an integer pixel and the index of its sub-pixel phase, and the distinct phases."""
    whole = np.floor(centres)
    phases, phase_index = np.unique(np.round(centres - whole, 6), return_inverse=True)
    return whole.astype(np.int64), phase_index, phases


def shape_name(value: float) -> str:
    """The shape of an official `latents_values` shape value: 1 square, 2 ellipse, 3 heart."""
    if value not in (1, 2, 3):
        raise ValueError(f"A dSprites shape value is 1 (square), 2 (ellipse) or 3 (heart), got {value}.")
    return SHAPES[int(value) - 1]


def render_grid(space: FactorSpace, description: str | None = None) -> np.ndarray:
    """Every combination of `space`'s values (shape, scale, orientation, pos_x, pos_y; row-major, pos_y fastest, as in
    the official file) bit-packed along rows: uint8 (N, 64, 8); `np.unpackbits(…, axis=-1)` gives the 0/1 images.

    A progress bar with `description` is shown unless it is None. Each (shape, scale) block is packed as soon as it
    is drawn, so the unpacked grid (3 GB for the official one) never exists here.
    """
    if space.names != FACTOR_NAMES:
        raise ValueError(f"render_grid needs the factors {FACTOR_NAMES}, got {space.names}.")
    shapes, scales, orientations, pos_x, pos_y = (np.asarray(values, dtype=np.float64) for values in space.values)
    per_block = len(orientations) * len(pos_x) * len(pos_y)
    packed = np.empty((space.num_combinations, IMAGE_SIZE, IMAGE_SIZE // 8), dtype=np.uint8)
    blocks = [(shape, scale) for shape in shapes for scale in scales]
    for index, (shape, scale) in enumerate(tqdm(blocks, desc=description, disable=description is None,
                                                unit="block", mininterval=2.0)):
        block = render_block(shape_name(shape), scale, orientations, pos_x, pos_y)
        packed[index * per_block : (index + 1) * per_block] = np.packbits(
            block.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), axis=-1)
    return packed
