"""data=image_folder: classes from sub-folders, transparency over white, a stratified seeded test split, the cache,
and an error that names the fix for every bad input."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vae_lightning.data import ImageFolderDataModule, decoded_cache
from vae_lightning.errors import ConfigError, DataError

PER_CLASS = {"cats": 10, "dogs": 6, "icons": 4}


def write_image(path: Path, mode: str, size: tuple[int, int], colour: tuple[int, ...] | int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def transparent_icon(path: Path, size: int = 40) -> Path:
    """A fully transparent image whose hidden colour is black, with an opaque red square in the middle."""
    pixels = np.zeros((size, size, 4), dtype=np.uint8)
    pixels[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = (255, 0, 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode="RGBA").save(path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Three classes of different sizes, formats and modes: RGB JPEGs, grayscale PNGs, transparent icons."""
    root = tmp_path_factory.mktemp("images")
    for index in range(PER_CLASS["cats"]):
        write_image(root / "cats" / f"cat{index:02d}.JPG", "RGB", (50 + index, 30), (200, 120, 20 * index))
    for index in range(PER_CLASS["dogs"]):
        write_image(root / "dogs" / "nested" / f"dog{index}.png", "L", (20, 24), 90)
    for index in range(PER_CLASS["icons"]):
        transparent_icon(root / "icons" / f"icon{index}.png")
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    write_image(root / ".hidden" / "skip.png", "RGB", (8, 8), 0)
    return root


def datamodule(path: Path, cache: Path, **overrides) -> ImageFolderDataModule:
    module = ImageFolderDataModule(path=str(path), cache_dir=str(cache), **overrides)
    module.prepare_data()
    module.setup("fit")
    return module


def all_splits(module: ImageFolderDataModule) -> tuple[torch.Tensor, torch.Tensor]:
    parts = [module.split(name) for name in ("train", "val", "test")]
    return torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts])


def test_sub_folders_are_sorted_classes_and_every_image_is_square_rgb(folder, tmp_path):
    module = datamodule(folder, tmp_path, image_size=16)
    images, labels = all_splits(module)
    assert module.class_names == ("cats", "dogs", "icons")
    assert module.image_shape == (3, 16, 16)
    assert images.shape == (sum(PER_CLASS.values()), 3, 16, 16) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == list(PER_CLASS.values())
    dog = images[labels == 1][0]
    assert (dog == 90).all()  # grayscale is repeated in the three channels


def test_transparent_pixels_become_white_not_their_hidden_colour(folder, tmp_path):
    module = datamodule(folder, tmp_path, image_size=16)
    images, labels = all_splits(module)
    icon = images[labels == 2][0]
    assert icon[:, 0, 0].tolist() == [255, 255, 255]
    assert icon[:, 8, 8].tolist() == [255, 0, 0]


def test_grayscale_output_composites_onto_white_too(folder, tmp_path):
    images, labels = all_splits(datamodule(folder, tmp_path, image_size=8, grayscale=True))
    assert images.shape[1:] == (1, 8, 8)
    assert images[labels == 2][0][0, 0, 0] == 255


def test_images_are_centre_cropped_before_resizing(tmp_path):
    pixels = np.zeros((10, 30, 3), dtype=np.uint8)
    pixels[:, 10:20] = 255  # a white centre square between black side bands
    (tmp_path / "wide").mkdir()
    for name in "abcd":
        Image.fromarray(pixels).save(tmp_path / "wide" / f"{name}.png")
    module = datamodule(tmp_path / "wide", tmp_path / "cache", image_size=8, test_fraction=0.5, val_fraction=0.5)
    images, _ = all_splits(module)
    assert module.class_names == ("wide",)  # no sub-folders: one class named after the folder
    assert (images == 255).all()


def test_test_split_takes_the_fraction_of_every_class_and_depends_only_on_the_seed(folder, tmp_path):
    first = datamodule(folder, tmp_path, image_size=8, test_fraction=0.25)
    test_labels = first.split("test").labels
    assert torch.bincount(test_labels).tolist() == [round(10 * 0.25), round(6 * 0.25), 1]
    again = datamodule(folder, tmp_path, image_size=8, test_fraction=0.25)
    other_seed = datamodule(folder, tmp_path, image_size=8, test_fraction=0.25, seed=1)
    assert torch.equal(again.split("test").images, first.split("test").images)
    assert not torch.equal(other_seed.split("test").images, first.split("test").images)


def test_second_setup_reads_the_cache_instead_of_decoding(folder, tmp_path, monkeypatch):
    first = datamodule(folder, tmp_path, image_size=8)
    assert len(list((tmp_path / "decoded").glob("*.pt"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache holds the images")

    monkeypatch.setattr(decoded_cache, "decode_square", no_decoding)
    second = datamodule(folder, tmp_path, image_size=8)
    assert torch.equal(all_splits(second)[0], all_splits(first)[0])


def test_another_image_size_or_an_edited_file_is_decoded_again(tmp_path):
    for index in range(4):
        write_image(tmp_path / "images" / f"{index}.png", "RGB", (8, 8), 0)
    datamodule(tmp_path / "images", tmp_path, image_size=8, val_fraction=0.5)
    datamodule(tmp_path / "images", tmp_path, image_size=16, val_fraction=0.5)
    os.utime(tmp_path / "images" / "0.png", ns=(0, 0))
    datamodule(tmp_path / "images", tmp_path, image_size=8, val_fraction=0.5)
    assert len(list((tmp_path / "decoded").glob("*.pt"))) == 3


def test_a_damaged_cache_file_is_decoded_again(folder, tmp_path):
    first = datamodule(folder, tmp_path, image_size=8)
    (cache_file,) = (tmp_path / "decoded").glob("*.pt")
    cache_file.write_bytes(b"truncated")
    assert torch.equal(all_splits(datamodule(folder, tmp_path, image_size=8))[0], all_splits(first)[0])


@pytest.mark.parametrize("problem", ["missing", "file"])
def test_a_path_that_is_not_a_folder_names_the_fix(tmp_path, problem):
    path = tmp_path / "images"
    if problem == "file":
        path.write_text("")
    with pytest.raises(DataError, match=r"data.path=.*images (does not exist|is not a directory).*data.path=/your"):
        datamodule(path, tmp_path)


def test_a_folder_without_images_lists_the_extensions_read(tmp_path):
    (tmp_path / "images" / "empty_class").mkdir(parents=True)
    (tmp_path / "images" / "readme.txt").write_text("")
    with pytest.raises(DataError, match=r"no image files .*\.png, \.jpg, \.jpeg, \.bmp, \.gif, \.webp"):
        datamodule(tmp_path / "images", tmp_path)


def test_a_corrupt_image_is_named_with_the_fix(folder, tmp_path):
    broken = tmp_path / "images"
    for index in range(3):
        write_image(broken / "ok" / f"{index}.png", "RGB", (8, 8), 0)
    (broken / "ok" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"broken\.png .*Remove or replace the file"):
        datamodule(broken, tmp_path)


def test_a_class_too_small_for_the_test_split_is_named(tmp_path):
    write_image(tmp_path / "images" / "big" / "a.png", "RGB", (8, 8), 0)
    write_image(tmp_path / "images" / "big" / "b.png", "RGB", (8, 8), 0)
    write_image(tmp_path / "images" / "lonely" / "a.png", "RGB", (8, 8), 0)
    with pytest.raises(DataError, match=r"Class 'lonely' has 1 image.*at least 2"):
        datamodule(tmp_path / "images", tmp_path, image_size=8)


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("path", None, "data.path=/your/images"),
    ("image_size", 4, "an integer >= 8"),
    ("grayscale", 1, "true \\(one grey channel\\) or false \\(RGB\\)"),
    ("test_fraction", 1.0, "a number in \\(0, 1\\)"),
])
def test_a_bad_setting_is_refused_with_what_is_allowed(tmp_path, key, value, allowed):
    settings = {"path": str(tmp_path), key: value}
    with pytest.raises(ConfigError, match=f"data.{key}={value!r} is not allowed; it must be .*{allowed}"):
        ImageFolderDataModule(**settings)
