"""Data layer: strict IDX reading, finding the dataset files, and the LightningDataModules."""

from vae_lightning.data.base import InMemoryDataModule, InMemoryImages
from vae_lightning.data.celeba import CelebADataModule
from vae_lightning.data.dsprites import DSpritesDataModule
from vae_lightning.data.idx import read_idx
from vae_lightning.data.image_folder import ImageFolderDataModule
from vae_lightning.data.mnist_family import MNISTFamilyDataModule
from vae_lightning.data.multidomain import MultiDomainDataModule
from vae_lightning.data.sources import DATASETS, locate_dataset

__all__ = ["DATASETS", "CelebADataModule", "DSpritesDataModule", "MNISTFamilyDataModule", "ImageFolderDataModule",
           "InMemoryDataModule", "InMemoryImages", "MultiDomainDataModule", "locate_dataset", "read_idx"]
