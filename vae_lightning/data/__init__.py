"""Data layer: strict IDX reading, finding the dataset files, and the LightningDataModule."""

from vae_lightning.data.datamodule import ImageDataModule
from vae_lightning.data.idx import read_idx
from vae_lightning.data.sources import DATASETS, locate_dataset

__all__ = ["DATASETS", "ImageDataModule", "locate_dataset", "read_idx"]
