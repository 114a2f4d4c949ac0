"""Data layer: strict IDX reading, finding the dataset files, and the LightningDataModule."""

from vae_lightning.data.datamodule import ImageDataModule
from vae_lightning.data.idx import read_idx
from vae_lightning.data.sources import DATASETS, locate_dataset

# The data modules a checkpoint may name; analysis rebuilds a run's data module only from this list.
DATA_MODULES: dict[str, type] = {cls.__name__: cls for cls in (ImageDataModule,)}

__all__ = ["DATA_MODULES", "DATASETS", "ImageDataModule", "locate_dataset", "read_idx"]
