"""Data layer: strict IDX reading, finding the dataset files, and the LightningDataModules."""

from vae_lightning.data.base import InMemoryDataModule, InMemoryImages
from vae_lightning.data.celeba import CelebADataModule
from vae_lightning.data.datamodule import ImageDataModule
from vae_lightning.data.idx import read_idx
from vae_lightning.data.image_folder import ImageFolderDataModule
from vae_lightning.data.multidomain import MultiDomainDataModule
from vae_lightning.data.sources import DATASETS, locate_dataset

# The data modules a checkpoint may name; analysis rebuilds a run's data module only from this list.
DATA_MODULES: dict[str, type[InMemoryDataModule]] = {
    cls.__name__: cls for cls in (ImageDataModule, MultiDomainDataModule, ImageFolderDataModule, CelebADataModule)
}

__all__ = ["DATA_MODULES", "DATASETS", "CelebADataModule", "ImageDataModule", "ImageFolderDataModule",
           "InMemoryDataModule", "InMemoryImages", "MultiDomainDataModule", "locate_dataset", "read_idx"]
