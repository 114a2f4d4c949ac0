from vae_lightning.callbacks.checkpointing import RunCheckpoint
from vae_lightning.callbacks.fit_time import FitTimeInCheckpoints
from vae_lightning.callbacks.interruption import ResumeHintOnInterrupt, ctrl_c_exit_status
from vae_lightning.callbacks.latent_panels import LatentPanels
from vae_lightning.callbacks.logging_interval import LoggingIntervalForShortEpochs
from vae_lightning.callbacks.main_curves_layout import MainCurvesLayout
from vae_lightning.callbacks.main_curves_logger import MainCurvesLogger
from vae_lightning.callbacks.per_dimension_chart import PerDimensionChart
from vae_lightning.callbacks.random_state import RandomStateInCheckpoints
from vae_lightning.callbacks.threads import ThreadsInCheckpoints

__all__ = ["FitTimeInCheckpoints", "LatentPanels", "LoggingIntervalForShortEpochs", "MainCurvesLayout",
           "MainCurvesLogger", "PerDimensionChart", "RandomStateInCheckpoints", "ResumeHintOnInterrupt",
           "RunCheckpoint", "ThreadsInCheckpoints", "ctrl_c_exit_status"]
