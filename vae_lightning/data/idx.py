"""Strict reading of IDX files, the format of the MNIST family (LeCun et al.), raw or gzip-compressed.

Every way a file can be damaged (truncated download, wrong file, corrupt gzip, trailing bytes) becomes a
`DataError` naming the file, so a bad dataset fails at load time instead of as a shape error deep in training.
"""

import gzip
import math
import zlib
from pathlib import Path

import torch

from vae_lightning.errors import DataError

IDX_TYPE_UBYTE = 0x08
IDX_IMAGES_MAGIC = 0x0803  # 2051: unsigned bytes, 3 dims (N, rows, cols)
IDX_LABELS_MAGIC = 0x0801  # 2049: unsigned bytes, 1 dim (N,)
IDX_MAX_NDIM = 4
IDX_MAX_BYTES = 2 * 1024**3  # far above the 47 MB of MNIST's training images; stops decompression bombs
_CHUNK_BYTES = 16 * 1024**2
_GZIP_SIGNATURE = b"\x1f\x8b"
_FIX = (
    "Replace it with a fresh copy: delete it (and any extracted copy under the cache directory) and copy the "
    "original .gz files again, or run with data.download=true on a machine with internet."
)


def read_idx(path: Path, max_bytes: int = IDX_MAX_BYTES) -> torch.Tensor:
    """Read an unsigned-byte IDX file (`.gz` or uncompressed) into a uint8 tensor shaped as its header says."""
    data, dims = _read_checked(Path(path), max_bytes)
    return torch.frombuffer(data, dtype=torch.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def encode_idx_header(shape: tuple[int, ...]) -> bytes:
    """The IDX header of an unsigned-byte array of `shape`; followed by the raw bytes it makes a valid IDX file.

    A valid file's header is fully determined by its shape, so header plus payload reproduces the original bytes.
    """
    return bytes([0, 0, IDX_TYPE_UBYTE, len(shape)]) + b"".join(dim.to_bytes(4, "big") for dim in shape)


def _read_checked(path: Path, max_bytes: int) -> tuple[bytearray, tuple[int, ...]]:
    """Decompress a file and check magic, header and payload length agree; return the bytes and the shape."""
    data = _read_decompressed(path, max_bytes)
    if not data:
        raise DataError(f"IDX file {path} is empty. {_FIX}")
    if len(data) < 4:
        raise DataError(f"IDX file {path} is truncated: only {len(data)} bytes, not even the 4-byte magic. {_FIX}")
    _check_magic(path, data)
    ndim = data[3]
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise DataError(
            f"IDX file {path} is truncated inside its header: {ndim} dims need {header_bytes} header bytes but the "
            f"file has {len(data)}. {_FIX}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if min(dims) < 1:
        raise DataError(f"IDX file {path} declares shape {dims} with an empty dimension. {_FIX}")
    expected = math.prod(dims)
    actual = len(data) - header_bytes
    if actual != expected:
        problem = "truncated" if actual < expected else "followed by trailing bytes"
        raise DataError(
            f"IDX file {path} is {problem}: its header declares shape {dims}, i.e. {expected} data bytes, "
            f"but {actual} bytes follow the header. {_FIX}"
        )
    return data, dims


def read_idx_pair(
    images_path: Path, labels_path: Path, image_shape: tuple[int, int] = (28, 28), num_classes: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read matching image and label files, checking image size, ranks, that the counts agree and, given
    `num_classes`, that every label is a class index: a bad label would otherwise train silently or crash a
    conditional model mid-run."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or tuple(images.shape[1:]) != tuple(image_shape):
        raise DataError(
            f"{images_path} should hold images of shape (N, {image_shape[0]}, {image_shape[1]}) "
            f"(IDX magic {IDX_IMAGES_MAGIC}) but holds shape {tuple(images.shape)}. Check that the file is the "
            f"images file of the right dataset; {_FIX}"
        )
    if labels.ndim != 1:
        raise DataError(
            f"{labels_path} should hold one label per image (IDX magic {IDX_LABELS_MAGIC}, shape (N,)) but holds "
            f"shape {tuple(labels.shape)}. Check that the file is the labels file of the right dataset; {_FIX}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; the two files "
            f"come from different downloads or one is damaged. {_FIX}"
        )
    if num_classes is not None and (largest := int(labels.max())) >= num_classes:
        raise DataError(
            f"{labels_path} holds label {largest} (at index {int(labels.argmax())}), but the dataset has "
            f"{num_classes} classes, labelled 0 to {num_classes - 1}; the file is damaged or belongs to another "
            f"dataset. {_FIX}"
        )
    return images, labels


def _read_decompressed(path: Path, max_bytes: int) -> bytearray:
    """Read a file (gunzipping `.gz`) in chunks, refusing to hold more than `max_bytes`."""
    opener = gzip.open if path.suffix == ".gz" else open
    data = bytearray()
    try:
        with opener(path, "rb") as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                data += chunk
                if len(data) > max_bytes:
                    raise DataError(
                        f"IDX file {path} decompresses to more than {max_bytes} bytes, far beyond any MNIST-style "
                        f"dataset; it is not an IDX file of this project. {_FIX}"
                    )
    except FileNotFoundError as error:
        raise DataError(f"IDX file {path} does not exist. Check data.root and the dataset folder name.") from error
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(
            f"IDX file {path} is not a valid gzip stream ({error}); it is corrupt or truncated. {_FIX}"
        ) from error
    except OSError as error:
        raise DataError(f"IDX file {path} cannot be read ({error}). Check that it is a readable file.") from error
    return data


def _check_magic(path: Path, data: bytearray) -> None:
    """Reject anything but the unsigned-byte IDX variant with 1 to 4 dimensions."""
    if data[:2] == _GZIP_SIGNATURE:
        raise DataError(
            f"IDX file {path} is gzip-compressed but its name lacks the .gz suffix. Rename it to {path}.gz."
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path} is not an IDX file: it starts with bytes {bytes(data[:4]).hex()} instead of the magic "
            f"00 00 <type> <ndim>. {_FIX}"
        )
    if data[2] != IDX_TYPE_UBYTE:
        raise DataError(
            f"IDX file {path} stores element type {data[2]:#04x}; only unsigned bytes ({IDX_TYPE_UBYTE:#04x}), the "
            f"type of MNIST-style images and labels, are supported. {_FIX}"
        )
    if not 1 <= data[3] <= IDX_MAX_NDIM:
        raise DataError(
            f"IDX file {path} declares {data[3]} dimensions; 1 to {IDX_MAX_NDIM} are supported (images have 3, "
            f"labels 1). {_FIX}"
        )
