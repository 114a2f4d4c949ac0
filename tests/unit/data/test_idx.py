import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data_helpers import write_idx
from vae_lightning.data.idx import encode_idx_header, read_idx, read_idx_pair
from vae_lightning.errors import DataError

IMAGES = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
LABELS = np.array([7, 0, 9], dtype=np.uint8)


def valid_idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes() + array.tobytes()


def assert_data_error_names(path: Path, *args) -> str:
    with pytest.raises(DataError) as caught:
        read_idx(path, *args)
    assert path.name in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trips_raw_and_gzip_files(tmp_path, name):
    images = read_idx(write_idx(tmp_path / name, IMAGES))
    assert images.dtype == torch.uint8
    assert torch.equal(images, torch.from_numpy(IMAGES))


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (1, 2, 3, 4)])
def test_read_idx_accepts_one_to_four_dims(tmp_path, shape):
    array = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    assert torch.equal(read_idx(write_idx(tmp_path / "x-ubyte", array)), torch.from_numpy(array))


def test_encode_idx_header_matches_an_independently_written_header():
    assert encode_idx_header((3, 28, 28)) == valid_idx_bytes(IMAGES)[:16]


def test_truncated_payload_is_reported_as_truncated(tmp_path):
    path = tmp_path / "cut-ubyte"
    path.write_bytes(valid_idx_bytes(IMAGES)[:-10])
    assert "truncated" in assert_data_error_names(path)


def test_truncated_header_is_reported(tmp_path):
    path = tmp_path / "header-ubyte"
    path.write_bytes(valid_idx_bytes(IMAGES)[:10])
    assert "header" in assert_data_error_names(path)


def test_empty_file_is_reported_as_empty(tmp_path):
    path = tmp_path / "empty-ubyte"
    path.write_bytes(b"")
    assert "empty" in assert_data_error_names(path)


def test_missing_file_is_reported(tmp_path):
    assert "does not exist" in assert_data_error_names(tmp_path / "absent-ubyte.gz")


def test_wrong_magic_is_rejected(tmp_path):
    path = tmp_path / "magic-ubyte"
    path.write_bytes(b"\x12\x34" + valid_idx_bytes(LABELS)[2:])
    assert "1234" in assert_data_error_names(path)


def test_unsupported_element_type_is_rejected(tmp_path):
    path = tmp_path / "float-ubyte"
    path.write_bytes(b"\x00\x00\x0d\x01" + valid_idx_bytes(LABELS)[4:])
    assert "0x0d" in assert_data_error_names(path)


def test_zero_dimensions_are_rejected(tmp_path):
    path = tmp_path / "ndim0-ubyte"
    path.write_bytes(b"\x00\x00\x08\x00")
    assert "0 dimensions" in assert_data_error_names(path)


def test_empty_dimension_is_rejected(tmp_path):
    path = tmp_path / "n0-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    assert "empty dimension" in assert_data_error_names(path)


def test_trailing_bytes_are_rejected(tmp_path):
    path = tmp_path / "long-ubyte"
    path.write_bytes(valid_idx_bytes(LABELS) + b"\x00")
    assert "trailing" in assert_data_error_names(path)


def test_gzip_data_without_gz_suffix_gets_a_rename_hint(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(valid_idx_bytes(LABELS)))
    assert "Rename" in assert_data_error_names(path)


def test_corrupt_gzip_stream_is_reported(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    compressed = bytearray(gzip.compress(valid_idx_bytes(IMAGES)))
    middle = len(compressed) // 2
    compressed[middle : middle + 8] = bytes(255 - b for b in compressed[middle : middle + 8])
    path.write_bytes(bytes(compressed))
    assert "gzip" in assert_data_error_names(path)


def test_truncated_gzip_stream_is_reported(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(valid_idx_bytes(IMAGES))[:-20])
    assert "gzip" in assert_data_error_names(path)


def test_decompressed_size_above_the_limit_is_refused(tmp_path):
    path = write_idx(tmp_path / "bomb-ubyte.gz", np.zeros((64, 28, 28), dtype=np.uint8))
    assert "more than 1000 bytes" in assert_data_error_names(path, 1000)


def test_read_idx_pair_rejects_count_mismatch_naming_both_files(tmp_path):
    images = write_idx(tmp_path / "images-ubyte", IMAGES)
    labels = write_idx(tmp_path / "labels-ubyte", LABELS[:2])
    with pytest.raises(DataError, match="3 images") as caught:
        read_idx_pair(images, labels)
    assert "images-ubyte" in str(caught.value) and "labels-ubyte" in str(caught.value)
    assert "2 labels" in str(caught.value)


def test_read_idx_pair_rejects_wrong_image_shape_naming_file_and_shapes(tmp_path):
    images = write_idx(tmp_path / "images-ubyte", np.zeros((3, 32, 32), dtype=np.uint8))
    labels = write_idx(tmp_path / "labels-ubyte", LABELS)
    with pytest.raises(DataError, match=r"\(3, 32, 32\)") as caught:
        read_idx_pair(images, labels)
    assert "images-ubyte" in str(caught.value) and "(N, 28, 28)" in str(caught.value)


def test_read_idx_pair_rejects_labels_with_two_dims(tmp_path):
    images = write_idx(tmp_path / "images-ubyte", IMAGES)
    labels = write_idx(tmp_path / "labels-ubyte", np.zeros((3, 1), dtype=np.uint8))
    with pytest.raises(DataError, match="labels-ubyte"):
        read_idx_pair(images, labels)


def test_read_idx_pair_returns_matching_tensors(tmp_path):
    images, labels = read_idx_pair(write_idx(tmp_path / "i-ubyte", IMAGES), write_idx(tmp_path / "l-ubyte", LABELS))
    assert images.shape == (3, 28, 28) and labels.tolist() == [7, 0, 9]


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def parses_or_raises_data_error(path: Path, data: bytes) -> None:
    """Any exception other than DataError propagates and fails the test."""
    path.write_bytes(data)
    try:
        tensor = read_idx(path)
    except DataError:
        return
    assert tensor.dtype == torch.uint8 and 1 <= tensor.ndim <= 4


@FUZZ
@given(data=st.binary(max_size=64))
def test_arbitrary_bytes_parse_or_raise_data_error(tmp_path, data):
    parses_or_raises_data_error(tmp_path / "fuzz-ubyte", data)


@FUZZ
@given(ndim=st.integers(1, 4), dims=st.lists(st.integers(0, 4), min_size=4, max_size=4), tail=st.binary(max_size=80))
def test_arbitrary_bytes_after_a_valid_header_parse_or_raise_data_error(tmp_path, ndim, dims, tail):
    parses_or_raises_data_error(tmp_path / "fuzz-ubyte", encode_idx_header(tuple(dims[:ndim])) + tail)


@FUZZ
@given(data=st.binary(max_size=64), compress=st.booleans())
def test_arbitrary_gz_content_parses_or_raises_data_error(tmp_path, data, compress):
    parses_or_raises_data_error(tmp_path / "fuzz-ubyte.gz", gzip.compress(data) if compress else data)
