"""Where the MNIST-family files come from: a data root, a system install, or (last) a torchvision download.

torchvision's dataset classes want uncompressed IDX files in `<root>/<folder>/raw/`; shared or packaged copies are
usually gzip-compressed and read-only, so they are extracted once into a cache, validated before anything is written.
"""

import dataclasses
import hashlib
import http.client
import logging
import os
import stat
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch
from torchvision.datasets import MNIST, FashionMNIST

from vae_lightning.atomic_files import write_atomic
from vae_lightning.data.idx import encode_idx_header, read_idx_pair
from vae_lightning.errors import DataError

log = logging.getLogger("vae_lightning.data")

DATA_ENV_VAR = "VAE_LIGHTNING_DATA"
SPLIT_STEMS = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)
FILE_STEMS = tuple(stem for pair in SPLIT_STEMS for stem in pair)
# What torchvision's download raises: URLError/HTTPError/socket errors are OSError, a failed checksum or all
# mirrors failing is RuntimeError, a broken archive surfaces as EOFError or zlib.error, a dropped connection may
# be an HTTPException.
_DOWNLOAD_ERRORS = (OSError, RuntimeError, EOFError, zlib.error, http.client.HTTPException)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything that differs between the supported datasets; build one with other `system_dirs` to redirect."""

    name: str
    folder: str
    torchvision_class: type[MNIST]
    class_names: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    system_package: str | None = None
    image_shape: tuple[int, int, int] = (1, 28, 28)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist", folder="MNIST", torchvision_class=MNIST, class_names=tuple(str(digit) for digit in range(10))
    ),
    "fashion": DatasetSpec(
        name="fashion",
        folder="FashionMNIST",
        torchvision_class=FashionMNIST,
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
        system_package="dataset-fashion-mnist",
    ),
}


class _NotHere(Exception):
    """A location lacks the dataset; `reason` says what was seen there, for the final error message."""

    def __init__(self, reason: str, partial: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/vae_lightning`, falling back to `~/.cache/vae_lightning` as the XDG spec says."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vae_lightning"


def locate_dataset(spec: DatasetSpec, root: Path, cache_dir: Path, download: bool) -> Path:
    """Return a torchvision root `R` whose `R/<folder>/raw/` holds the four validated, uncompressed IDX files.

    Looks in `<root>/<folder>/raw/` (uncompressed, then `.gz`), then each of `spec.system_dirs`, then downloads
    if allowed; raises a `DataError` listing every place looked when all fail.
    """
    root, cache_dir = Path(root), Path(cache_dir)
    sources: list[Callable[[], Path]] = [lambda: _from_root(spec, root, cache_dir)]
    sources += [
        lambda d=directory: _from_gzip_dir(spec, d, _cache_root(cache_dir, d)) for directory in spec.system_dirs
    ]
    if download:
        sources.append(lambda: _from_download(spec, root))
    looked = []
    for source in sources:
        try:
            return source()
        except _NotHere as missing:
            if missing.partial:
                log.warning("%s: skipping %s", spec.folder, missing.reason)
            looked.append(missing.reason)
    if not download:
        looked.append("download not tried (data.download=false)")
    raise DataError(_not_found_message(spec, root, looked))


def _from_root(spec: DatasetSpec, root: Path, cache_dir: Path) -> Path:
    """Use `<root>/<folder>/raw/`: its uncompressed files if complete and current, else extract its `.gz` files."""
    raw = root / spec.folder / "raw"
    uncompressed = [raw / stem for stem in FILE_STEMS]
    have_uncompressed = all(path.is_file() for path in uncompressed)
    have_gz = all(_gz(path).is_file() for path in uncompressed)
    if have_uncompressed and not (have_gz and any(_is_stale(path, _gz(path)) for path in uncompressed)):
        _validate(spec, raw)
        log.info("%s: using uncompressed IDX files in %s", spec.folder, raw)
        return root
    target_root = root if _writable(raw) else _cache_root(cache_dir, raw)
    return _from_gzip_dir(spec, raw, target_root)


def _from_gzip_dir(spec: DatasetSpec, gz_dir: Path, target_root: Path) -> Path:
    """Extract the four `.gz` files of `gz_dir` into `<target_root>/<folder>/raw/` unless a current copy is there."""
    if not all((gz_dir / f"{stem}.gz").is_file() for stem in FILE_STEMS):
        raise _describe_missing(gz_dir)
    out_dir = target_root / spec.folder / "raw"
    extracted = []
    for images_stem, labels_stem in SPLIT_STEMS:
        outputs = (out_dir / images_stem, out_dir / labels_stem)
        if any(_is_stale(path, gz_dir / f"{path.name}.gz") for path in outputs):
            arrays = read_idx_pair(gz_dir / f"{images_stem}.gz", gz_dir / f"{labels_stem}.gz", spec.image_shape[1:],
                                   len(spec.class_names))
            for path, array in zip(outputs, arrays, strict=True):
                _write_idx_atomically(path, array)
            extracted += [path.name for path in outputs]
        else:
            read_idx_pair(*outputs, spec.image_shape[1:], len(spec.class_names))
    action = f"extracted {', '.join(extracted)}" if extracted else "reused the files extracted earlier"
    log.info("%s: using the .gz files in %s (%s into %s)", spec.folder, gz_dir, action, out_dir)
    return target_root


def _from_download(spec: DatasetSpec, root: Path) -> Path:
    """Let torchvision download and extract into `root`; the only place this package touches the network."""
    try:
        for train in (True, False):
            spec.torchvision_class(root, train=train, download=True)
    except _DOWNLOAD_ERRORS as error:
        message = " ".join(str(error).split())
        raise _NotHere(f"download into {root} failed ({type(error).__name__}: {message})") from error
    _validate(spec, root / spec.folder / "raw")
    log.info("%s: downloaded into %s", spec.folder, root / spec.folder / "raw")
    return root


def _validate(spec: DatasetSpec, raw: Path) -> None:
    """Read both splits fully, so a corrupt file fails here rather than being skipped or failing mid-training."""
    for images_stem, labels_stem in SPLIT_STEMS:
        read_idx_pair(raw / images_stem, raw / labels_stem, spec.image_shape[1:], len(spec.class_names))


def _describe_missing(directory: Path) -> _NotHere:
    """Say what a location lacks: nothing there at all, or which of the four files are missing."""
    if not directory.is_dir():
        return _NotHere(f"{directory} (does not exist)")
    entries = [path for path in directory.iterdir() if path.name.removesuffix(".gz") in FILE_STEMS]
    if folders := sorted(path.name for path in entries if path.is_dir()):
        raise DataError(
            f"{directory} holds {', '.join(folders)} as folder(s) where the dataset's files should be; an unpacking "
            f"step went wrong. Replace each with the file of that name ({', '.join(f'{s}.gz' for s in FILE_STEMS)})."
        )
    present = sorted(path.name for path in entries)
    if not present:
        return _NotHere(f"{directory} (no IDX files)")
    missing = [f"{stem}.gz" for stem in FILE_STEMS if f"{stem}.gz" not in present]
    return _NotHere(f"{directory} (incomplete: has {', '.join(present)}; missing {', '.join(missing)})", partial=True)


def _not_found_message(spec: DatasetSpec, root: Path, looked: list[str]) -> str:
    files = ", ".join(f"{stem}.gz" for stem in FILE_STEMS)
    package = f"; or install the Debian package {spec.system_package}" if spec.system_package else ""
    return (
        f"Could not find the {spec.folder} dataset (data.name={spec.name}). Looked in: {'; '.join(looked)}. "
        f"To fix: set data.root=... or the environment variable {DATA_ENV_VAR} to a directory containing "
        f"{spec.folder}/raw/ with {files} (data.root is now {root}){package}; or run with data.download=true on a "
        "machine with internet."
    )


def _gz(path: Path) -> Path:
    return path.with_name(f"{path.name}.gz")


def _is_stale(copy: Path, source: Path) -> bool:
    """A copy needs (re-)extracting if it is missing or older than the `.gz` it came from."""
    return not copy.is_file() or copy.stat().st_mtime < source.stat().st_mtime


def _cache_root(cache_dir: Path, source_dir: Path) -> Path:
    """A cache root per source directory, so two sources never overwrite each other's extracted files."""
    digest = hashlib.sha256(str(source_dir.resolve()).encode()).hexdigest()[:12]
    return cache_dir / digest


def _writable(directory: Path) -> bool:
    """Whether files may be extracted into `directory`: its permission bits allow it and a probe write succeeds.

    The bits are checked as well as the probe because root ignores them: a directory made read-only on purpose,
    such as a shared dataset folder, stays untouched even for root. The probe catches read-only mounts.
    """
    try:
        if not (directory.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)):
            return False
        if not os.access(directory, os.W_OK):
            return False
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _write_idx_atomically(path: Path, array: torch.Tensor) -> None:
    """Write an IDX file atomically, so an interrupted run never leaves half a file."""

    def write(stream: BinaryIO) -> None:
        stream.write(encode_idx_header(tuple(array.shape)))
        stream.write(memoryview(array.contiguous().numpy()))

    try:
        write_atomic(path, write)
    except OSError as error:
        raise DataError(
            f"Cannot write the extracted file {path} ({error}). Set data.cache_dir to a writable directory."
        ) from error
