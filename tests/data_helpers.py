"""Tiny but valid IDX datasets in torchvision's layout, written independently of the reader under test."""

import gzip
from pathlib import Path

import numpy as np

IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (magic 00 00 08 ndim, big-endian dims, raw bytes); gzip if `.gz`."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, mtime=0) if path.name.endswith(".gz") else payload)
    return path


def make_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """28x28 images with a bright bar whose position encodes the label, plus noise, so classes differ visibly."""
    images = rng.integers(0, 40, size=(len(labels), 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        top = 2 + 2 * int(label)
        image[top : top + 3, 4:24] = 255
    return images


def write_idx_dataset(
    root: Path, folder: str = "FashionMNIST", n_train: int = 64, n_test: int = 32, gz: bool = True, seed: int = 0
) -> Path:
    """Write the four IDX files into `<root>/<folder>/raw/` (`.gz` when `gz`) and return that raw directory."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / folder / "raw"
    suffix = ".gz" if gz else ""
    for split, count in (("train", n_train), ("test", n_test)):
        labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
        images_stem, labels_stem = IDX_STEMS[split]
        write_idx(raw / f"{images_stem}{suffix}", make_images(labels, rng))
        write_idx(raw / f"{labels_stem}{suffix}", labels)
    return raw
