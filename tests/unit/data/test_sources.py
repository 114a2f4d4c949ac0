import dataclasses
import gzip
import logging
import os
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from torchvision.datasets import FashionMNIST

from tests.data_helpers import write_idx_dataset
from vae_lightning.data.idx import read_idx
from vae_lightning.data.sources import DATASETS, FILE_STEMS, default_cache_dir, locate_dataset
from vae_lightning.errors import DataError

TRAIN_IMAGES = "train-images-idx3-ubyte"


def fashion_with_system_dirs(*dirs: Path):
    return dataclasses.replace(DATASETS["fashion"], system_dirs=tuple(dirs))


def flatten_into(directory: Path, seed: int) -> Path:
    """A Debian-style flat directory holding the four .gz files directly."""
    raw = write_idx_dataset(directory / "staging", seed=seed)
    directory.mkdir(parents=True, exist_ok=True)
    for path in raw.iterdir():
        path.rename(directory / path.name)
    return directory


def train_images(tv_root: Path) -> torch.Tensor:
    return read_idx(tv_root / "FashionMNIST" / "raw" / TRAIN_IMAGES)


def make_older(*paths: Path) -> None:
    for path in paths:
        os.utime(path, (1_000_000_000, 1_000_000_000))


@pytest.fixture
def read_only(tmp_path):
    """Clear a directory's write bits for the test, restoring them so tmp_path can be cleaned up."""
    changed = []

    def make_read_only(directory: Path) -> Path:
        directory.chmod(0o555)
        changed.append(directory)
        return directory

    yield make_read_only
    for directory in changed:
        directory.chmod(0o755)


def test_uncompressed_files_in_root_beat_gz_files_next_to_them(tmp_path):
    raw = write_idx_dataset(tmp_path / "root", seed=0)
    write_idx_dataset(tmp_path / "root", gz=False, seed=1)
    make_older(*raw.glob("*.gz"))
    expected = train_images(tmp_path / "root").clone()
    tv_root = locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=False)
    assert tv_root == tmp_path / "root"
    assert torch.equal(train_images(tv_root), expected)
    assert not torch.equal(expected, read_idx(raw / f"{TRAIN_IMAGES}.gz"))


def test_root_gz_files_beat_a_system_dir(tmp_path):
    raw = write_idx_dataset(tmp_path / "root", seed=0)
    system = flatten_into(tmp_path / "system", seed=1)
    spec = fashion_with_system_dirs(system)
    tv_root = locate_dataset(spec, tmp_path / "root", tmp_path / "cache", download=False)
    assert tv_root == tmp_path / "root"
    assert torch.equal(train_images(tv_root), read_idx(raw / f"{TRAIN_IMAGES}.gz"))


def test_gz_files_in_writable_root_are_extracted_next_to_them_like_torchvision(tmp_path):
    raw = write_idx_dataset(tmp_path / "root", n_train=20, n_test=10)
    tv_root = locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=False)
    assert sorted(path.name for path in raw.iterdir() if not path.name.endswith(".gz")) == sorted(FILE_STEMS)
    assert len(FashionMNIST(tv_root, train=True, download=False)) == 20
    assert len(FashionMNIST(tv_root, train=False, download=False)) == 10
    assert not (tmp_path / "cache").exists()


def test_extracted_files_are_byte_identical_to_gunzip_output(tmp_path):
    raw = write_idx_dataset(tmp_path / "root")
    locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=False)
    for stem in FILE_STEMS:
        assert (raw / stem).read_bytes() == gzip.decompress((raw / f"{stem}.gz").read_bytes())


def test_read_only_root_is_extracted_into_the_cache_and_left_untouched(tmp_path, read_only):
    raw = write_idx_dataset(tmp_path / "root")
    read_only(raw)
    before = sorted(path.name for path in raw.iterdir())
    tv_root = locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=False)
    assert tv_root.parent == tmp_path / "cache"
    assert sorted(path.name for path in raw.iterdir()) == before
    assert torch.equal(train_images(tv_root), read_idx(raw / f"{TRAIN_IMAGES}.gz"))


def test_system_dir_is_used_when_root_is_empty_and_extracted_into_the_cache(tmp_path):
    system = flatten_into(tmp_path / "system", seed=3)
    tv_root = locate_dataset(fashion_with_system_dirs(system), tmp_path / "root", tmp_path / "cache", download=False)
    assert tv_root.parent == tmp_path / "cache"
    assert torch.equal(train_images(tv_root), read_idx(system / f"{TRAIN_IMAGES}.gz"))


def test_extraction_happens_once_and_leaves_no_temporary_files(tmp_path):
    system = flatten_into(tmp_path / "system", seed=0)
    spec = fashion_with_system_dirs(system)
    first = locate_dataset(spec, tmp_path / "root", tmp_path / "cache", download=False)
    written = {path.name: path.stat().st_mtime_ns for path in (first / "FashionMNIST" / "raw").iterdir()}
    second = locate_dataset(spec, tmp_path / "root", tmp_path / "cache", download=False)
    assert second == first
    assert {path.name: path.stat().st_mtime_ns for path in (second / "FashionMNIST" / "raw").iterdir()} == written
    assert sorted(written) == sorted(FILE_STEMS)


def test_cached_copy_older_than_its_gz_is_extracted_again(tmp_path):
    system = flatten_into(tmp_path / "system", seed=0)
    spec = fashion_with_system_dirs(system)
    tv_root = locate_dataset(spec, tmp_path / "root", tmp_path / "cache", download=False)
    make_older(*(tv_root / "FashionMNIST" / "raw").iterdir())
    flatten_into(tmp_path / "system", seed=5)
    locate_dataset(spec, tmp_path / "root", tmp_path / "cache", download=False)
    assert torch.equal(train_images(tv_root), read_idx(system / f"{TRAIN_IMAGES}.gz"))


def test_corrupt_uncompressed_file_in_root_raises_instead_of_falling_through(tmp_path):
    raw = write_idx_dataset(tmp_path / "root", gz=False)
    (raw / TRAIN_IMAGES).write_bytes((raw / TRAIN_IMAGES).read_bytes()[:-5])
    spec = fashion_with_system_dirs(flatten_into(tmp_path / "system", seed=0))
    with pytest.raises(DataError, match=TRAIN_IMAGES):
        locate_dataset(spec, tmp_path / "root", tmp_path / "cache", download=False)


def test_corrupt_gz_in_system_dir_raises_and_writes_nothing(tmp_path):
    system = flatten_into(tmp_path / "system", seed=0)
    gz = system / f"{TRAIN_IMAGES}.gz"
    gz.write_bytes(gz.read_bytes()[:-30])
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}.gz"):
        locate_dataset(fashion_with_system_dirs(system), tmp_path / "root", tmp_path / "cache", download=False)
    assert not any(path.is_file() for path in (tmp_path / "cache").rglob("*"))


def test_nothing_found_without_download_lists_every_place_looked(tmp_path):
    system = tmp_path / "system"
    with pytest.raises(DataError) as caught:
        locate_dataset(fashion_with_system_dirs(system), tmp_path / "root", tmp_path / "cache", download=False)
    message = str(caught.value)
    assert f"{tmp_path / 'root' / 'FashionMNIST' / 'raw'} (does not exist)" in message
    assert f"{system} (does not exist)" in message
    assert "download not tried (data.download=false)" in message
    assert "VAE_LIGHTNING_DATA" in message and "dataset-fashion-mnist" in message
    assert "\n" not in message


def test_partial_location_names_the_missing_files(tmp_path):
    raw = write_idx_dataset(tmp_path / "root")
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"incomplete: .*; missing t10k-labels-idx1-ubyte\.gz\)"):
        locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=False)


def test_mnist_error_does_not_suggest_the_fashion_package(tmp_path):
    with pytest.raises(DataError) as caught:
        locate_dataset(DATASETS["mnist"], tmp_path / "root", tmp_path / "cache", download=False)
    assert "MNIST/raw" in str(caught.value) and "dataset-fashion-mnist" not in str(caught.value)


def test_download_failure_is_reported_in_the_error(tmp_path, monkeypatch):
    def fail(self):
        raise URLError("no route to host")

    monkeypatch.setattr(FashionMNIST, "download", fail)
    with pytest.raises(DataError, match=r"download into .* failed \(URLError: .*no route to host"):
        locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=True)


def test_downloaded_files_are_validated_and_used(tmp_path, monkeypatch):
    def fake_download(self):
        write_idx_dataset(Path(self.root), n_train=12, n_test=6, gz=False)

    monkeypatch.setattr(FashionMNIST, "download", fake_download)
    tv_root = locate_dataset(fashion_with_system_dirs(), tmp_path / "root", tmp_path / "cache", download=True)
    assert tv_root == tmp_path / "root"
    assert train_images(tv_root).shape == (12, 28, 28)


def test_source_is_logged_once_at_info_level(tmp_path, caplog):
    system = flatten_into(tmp_path / "system", seed=0)
    with caplog.at_level(logging.INFO, logger="vae_lightning.data"):
        locate_dataset(fashion_with_system_dirs(system), tmp_path / "root", tmp_path / "cache", download=False)
    infos = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert len(infos) == 1 and str(system) in infos[0]


def test_default_cache_dir_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "vae_lightning"


def test_dataset_specs_describe_torchvision_folders_and_class_names():
    assert DATASETS["fashion"].folder == "FashionMNIST" and DATASETS["mnist"].folder == "MNIST"
    assert DATASETS["fashion"].class_names[0] == "T-shirt/top" and DATASETS["fashion"].class_names[9] == "Ankle boot"
    assert DATASETS["mnist"].class_names == tuple("0123456789")
    assert DATASETS["fashion"].system_dirs == (Path("/usr/share/datasets/fashion-mnist"),)
