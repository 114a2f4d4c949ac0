"""data=celeba on a fake CelebA tree in torchvision's layout: official partitions, attribute labels, and errors that
list the missing files or the valid attributes."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from vae_lightning.data import CelebADataModule
from vae_lightning.data.celeba import ANNOTATIONS, IMAGE_FOLDER
from vae_lightning.errors import ConfigError, DataError

ATTRIBUTES = ("Eyeglasses", "Male", "Smiling")
PARTITION = [0] * 6 + [1] * 3 + [2] * 3  # 12 images: 6 train, 3 valid, 3 test
MALE = [1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1]


def write_fake_celeba(root: Path) -> Path:
    """12 aligned 178×218 JPEGs whose grey level is their index, with every annotation file torchvision reads."""
    folder = root / "celeba"
    (folder / IMAGE_FOLDER).mkdir(parents=True)
    names = [f"{index + 1:06d}.jpg" for index in range(len(PARTITION))]
    for index, name in enumerate(names):
        Image.new("RGB", (178, 218), (20 * index,) * 3).save(folder / IMAGE_FOLDER / name, quality=95)
    sign = {0: "-1", 1: " 1"}
    attr_rows = [f"{name} {sign[index % 2]} {sign[MALE[index]]} {sign[0]}" for index, name in enumerate(names)]
    files = {
        "list_eval_partition.txt": [f"{name} {part}" for name, part in zip(names, PARTITION, strict=True)],
        "identity_CelebA.txt": [f"{name} {index}" for index, name in enumerate(names)],
        "list_attr_celeba.txt": [str(len(names)), " ".join(ATTRIBUTES), *attr_rows],
        "list_bbox_celeba.txt": [str(len(names)), "image_id x_1 y_1 width height",
                                 *(f"{name}  95  71 226 313" for name in names)],
        "list_landmarks_align_celeba.txt": [str(len(names)), "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
                                            "leftmouth_x leftmouth_y rightmouth_x rightmouth_y",
                                            *(f"{name} 69 109 106 113 77 142 73 152 108 154" for name in names)],
    }
    for file_name, lines in files.items():
        (folder / file_name).write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def celeba_root(tmp_path_factory) -> Path:
    return write_fake_celeba(tmp_path_factory.mktemp("data"))


def datamodule(root: Path, cache: Path, **overrides) -> CelebADataModule:
    settings = {"verify_checksums": False, "image_size": 16} | overrides
    module = CelebADataModule(root=str(root), cache_dir=str(cache), **settings)
    module.prepare_data()
    module.setup("fit")
    return module


def test_the_official_partitions_become_train_val_and_test(celeba_root, tmp_path):
    module = datamodule(celeba_root, tmp_path)
    sizes = {split: len(module.split(split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 6, "val": 3, "test": 3}
    assert module.split("train").images.shape == (6, 3, 16, 16)
    grey_levels = module.split("test").images[:, 0, 8, 8].tolist()
    assert grey_levels == pytest.approx([20 * index for index in (9, 10, 11)], abs=3)  # JPEG is lossy


def test_labels_are_the_chosen_attribute(celeba_root, tmp_path):
    module = datamodule(celeba_root, tmp_path)
    assert module.class_names == ("not Male", "Male")
    labels = torch.cat([module.split(split).labels for split in ("train", "val", "test")])
    assert labels.tolist() == MALE
    eyeglasses = datamodule(celeba_root, tmp_path, label_attribute="Eyeglasses")
    assert eyeglasses.split("train").labels.tolist() == [0, 1, 0, 1, 0, 1]


def test_an_unknown_attribute_lists_the_valid_ones(celeba_root, tmp_path):
    with pytest.raises(ConfigError, match=r"data.label_attribute='Beard' .*Use one of: Eyeglasses, Male, Smiling"):
        datamodule(celeba_root, tmp_path, label_attribute="Beard")


def test_missing_files_are_listed_with_their_full_paths_and_where_to_get_them(tmp_path):
    folder = tmp_path / "celeba"
    folder.mkdir()
    (folder / "list_attr_celeba.txt").write_text("")
    with pytest.raises(DataError) as error:
        datamodule(tmp_path, tmp_path / "cache")
    message = str(error.value)
    assert f"{folder / IMAGE_FOLDER}/" in message and "img_align_celeba.zip" in message
    for _, _, name in ANNOTATIONS:
        assert (str(folder / name) in message) == (name != "list_attr_celeba.txt")
    assert "mmlab.ie.cuhk.edu.hk" in message and "drive.google.com" in message
    assert "data.root" in message and "VAE_LIGHTNING_DATA" in message


def test_annotation_files_with_other_checksums_are_refused_unless_verification_is_off(celeba_root, tmp_path):
    with pytest.raises(DataError, match=r"do not have the MD5 .*data.verify_checksums=false"):
        datamodule(celeba_root, tmp_path, verify_checksums=True)
