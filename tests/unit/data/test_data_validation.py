"""Data that loads but cannot be right: labels outside the class range, a folder where a .gz file belongs, 16-bit
images, a validation split smaller than the image panel. Each gives an error naming the file or setting, before
training starts (README "Reliability")."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from tests.data_helpers import IDX_STEMS, write_idx, write_idx_dataset
from tests.extending_example import TinyGAN
from vae_lightning.callbacks import LatentPanels
from vae_lightning.data.decoded_cache import decode_square
from vae_lightning.data.idx import read_idx_pair
from vae_lightning.data.sources import DATASETS, locate_dataset
from vae_lightning.errors import ConfigError, DataError
from vae_lightning.models import BetaVAE


@pytest.mark.parametrize("gz", [True, False])
def test_a_label_outside_the_class_range_names_the_labels_file(tmp_path, gz):
    raw = write_idx_dataset(tmp_path / "root", gz=gz)
    labels_file = raw / f"{IDX_STEMS['test'][1]}{'.gz' if gz else ''}"
    labels = np.arange(32) % 10  # the test split of write_idx_dataset
    labels[7] = 12
    write_idx(labels_file, labels)
    with pytest.raises(DataError) as refused:
        locate_dataset(DATASETS["fashion"], tmp_path / "root", tmp_path / "cache", download=False)
    assert str(labels_file) in str(refused.value)
    assert "label 12 (at index 7)" in str(refused.value) and "10 classes" in str(refused.value)


def test_labels_within_the_class_range_pass(tmp_path):
    raw = write_idx_dataset(tmp_path, gz=False)
    images, labels = read_idx_pair(raw / IDX_STEMS["train"][0], raw / IDX_STEMS["train"][1], num_classes=10)
    assert int(labels.max()) == 9 and len(images) == len(labels)


def test_a_folder_where_a_gz_file_belongs_is_named(tmp_path):
    raw = write_idx_dataset(tmp_path / "root")
    misplaced = raw / f"{IDX_STEMS['train'][1]}.gz"
    misplaced.unlink()
    misplaced.mkdir()
    with pytest.raises(DataError) as refused:
        locate_dataset(DATASETS["fashion"], tmp_path / "root", tmp_path / "cache", download=False)
    assert f"holds {misplaced.name} as folder(s)" in str(refused.value)
    assert "missing ;" not in str(refused.value)


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    decoded = decode_square(tmp_path / "deep.png", image_size=32, channels=1)
    expected = torch.from_numpy(np.rint(ramp / 257).astype(np.uint8))
    assert (decoded[0].int() - expected.int()).abs().max() <= 1
    assert decoded.float().mean() == pytest.approx(127.5, abs=1)  # clipping would give almost all white


def test_a_validation_split_smaller_than_the_image_panel_is_refused_before_training():
    trainer = SimpleNamespace(datamodule=SimpleNamespace(num_images=lambda split: 3))
    vae = SimpleNamespace(model=BetaVAE(latent_dim=2, channels=[4], hidden_dim=8))
    with pytest.raises(ConfigError) as refused:
        LatentPanels(num_images=16).setup(trainer, vae, stage="fit")
    assert "callbacks.latent_panels.num_images=16 is more than the 3 validation image(s)" in str(refused.value)
    LatentPanels(num_images=3).setup(trainer, vae, stage="fit")
    LatentPanels(num_images=16).setup(trainer, SimpleNamespace(model=TinyGAN()), stage="fit")  # samples only
