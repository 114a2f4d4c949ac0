"""Image files decoded once into a uint8 (N, C, S, S) tensor, cached on disk for the next run.

Decoding tens of thousands of JPEGs or PNGs takes minutes; reading the decoded tensor back takes seconds. The cache
key covers every input of the decoding (the files' relative paths, sizes and modification times, and the decoding
settings), so an added, removed or edited file, or another image size, decodes again instead of serving stale images.
"""

import hashlib
import json
import logging
import pickle
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from vae_lightning.atomic_files import write_atomic
from vae_lightning.errors import DataError

log = logging.getLogger("vae_lightning.data")

CHANNEL_MODES = {1: "L", 3: "RGB"}
WHITE = (255, 255, 255, 255)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")


def decode_square(path: Path, image_size: int, channels: int, crop: int | None = None) -> torch.Tensor:
    """One image as uint8 (channels, image_size, image_size): transparency over white, the centred square of side
    `crop` (default: the shorter side) resized with Lanczos filtering.

    Transparent pixels are composited onto white rather than having their alpha dropped, because icon and emoji sets
    store arbitrary colours under alpha 0 and would otherwise show them as noise around every shape.
    """
    try:
        with Image.open(path) as image:
            flat = _on_white(_eight_bit(image)).convert(CHANNEL_MODES[channels])
            side = min(flat.size) if crop is None else crop
            if side > min(flat.size):
                raise DataError(f"{path} is {flat.width}×{flat.height} pixels, smaller than the crop of {side}; "
                                "use a smaller crop or remove the image.")
            left, top = (flat.width - side) // 2, (flat.height - side) // 2
            # Crop, then resize: resizing with a `box` would let the filter see pixels outside the crop.
            square = flat.crop((left, top, left + side, top + side)).resize(
                (image_size, image_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        detail = str(error).splitlines()[0] if str(error) else "no details"
        raise DataError(
            f"Cannot read the image {path} ({type(error).__name__}: {detail}); it is corrupt, truncated or not an "
            "image. Remove or replace the file, then run again."
        ) from error
    return torch.from_numpy(np.asarray(square, dtype=np.uint8).copy()).reshape(image_size, image_size, channels
                                                                               ).permute(2, 0, 1)


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale image (Pillow opens 16-bit PNGs as mode I;16 or I) scaled to 8 bits: Pillow's own
    conversion clips every value above 255 to white instead of scaling it."""
    if image.mode not in SIXTEEN_BIT_MODES:
        return image
    values = np.asarray(image, dtype=np.float64)
    return Image.fromarray(np.clip(np.rint(values / 257), 0, 255).astype(np.uint8))


def _on_white(image: Image.Image) -> Image.Image:
    """The image with any transparency (an alpha band or a palette/colour key) composited onto white."""
    has_key = "transparency" in image.info
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and not has_key:
        return image
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE), rgba)


def decoded_images(files: Sequence[Path], base: Path, cache_dir: Path, image_size: int, channels: int,
                   crop: int | None = None) -> torch.Tensor:
    """All `files` decoded with `decode_square`, in order, from the cache when it holds them, else decoded (with a
    progress bar) and cached; `base` is the folder the paths are keyed relative to, so a moved folder stays cached."""
    settings = {"image_size": image_size, "channels": channels, "crop": crop}
    cache_path = cache_dir / "decoded" / f"{cache_key(files, base, settings)}.pt"
    expected_shape = (len(files), channels, image_size, image_size)
    cached = _read_cache(cache_path, expected_shape)
    if cached is not None:
        log.info("Read %d decoded images from the cache %s", len(files), cache_path)
        return cached
    started = time.perf_counter()
    images = torch.empty(expected_shape, dtype=torch.uint8)  # filled in place: no list of N tensors, no stack copy
    for index, path in enumerate(tqdm(files, desc=f"Decoding {len(files)} images in {base}", unit="img",
                                      mininterval=2.0)):
        images[index] = decode_square(path, image_size, channels, crop)
    log.info("Decoded %d images in %.0f s; caching them in %s", len(files), time.perf_counter() - started,
             cache_path)
    _write_cache(cache_path, {"images": images})
    return images


def cache_key(files: Sequence[Path], base: Path, settings: Mapping[str, object]) -> str:
    """A digest of each file's path relative to `base`, size and modification time, and the decoding settings."""
    digest = hashlib.sha256(json.dumps(dict(settings), sort_keys=True).encode())
    for path in files:
        try:
            stat = path.stat()
        except OSError as error:
            raise DataError(
                f"Cannot read the image {path} ({error.strerror}); it was listed but is missing or unreadable. "
                "Restore the file, or remove it from the data set, then run again."
            ) from error
        digest.update(f"\n{path.relative_to(base).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _read_cache(path: Path, expected_shape: tuple[int, ...]) -> torch.Tensor | None:
    """The cached images, or None when there is no cache entry or it cannot be used (it is then decoded again)."""
    if not path.is_file():
        return None
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is damaged
        log.warning("Ignoring the damaged cache file %s; decoding again", path)
        return None
    try:
        images = torch.load(path, map_location="cpu", weights_only=True)["images"]
    except (RuntimeError, EOFError, OSError, KeyError, TypeError, pickle.UnpicklingError) as error:
        log.warning("Ignoring the unreadable cache file %s (%s); decoding again", path, type(error).__name__)
        return None
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or tuple(images.shape) != expected_shape:
        log.warning("Ignoring the cache file %s, which does not hold %s uint8 images; decoding again", path,
                    expected_shape)
        return None
    return images


def _write_cache(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Save atomically: an interrupted run never leaves a truncated cache file that a later run would trust."""
    try:
        write_atomic(path, lambda handle: torch.save(tensors, handle))
    except (OSError, RuntimeError) as error:  # torch.save reports a full disk as a RuntimeError
        raise DataError(
            f"Cannot write the decoded-image cache {path} ({error}). Set data.cache_dir to a writable directory "
            "with room for the decoded images."
        ) from error
