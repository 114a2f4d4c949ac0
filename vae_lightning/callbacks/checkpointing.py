"""The run's checkpoints: the best epoch by a finite validation score, and `last.ckpt` after every training epoch."""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class RunCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` with two guarantees a resume and `analyze` rely on.

    - A NaN or infinite score never becomes the best checkpoint (Lightning ranks NaN as +inf, so a diverged first
      validation would otherwise be kept as "best").
    - `last.ckpt` is written at the end of every training epoch, also the epochs without validation
      (`trainer.check_val_every_n_epoch` > 1), so a kill never loses more than the epoch in progress.
    """

    validated_at_step: int | None = None  # the global step of the last validation outside the sanity check

    def check_monitor_top_k(self, trainer: L.Trainer, current: torch.Tensor | None = None) -> bool:
        if current is not None and not torch.isfinite(current).all():
            return False
        return super().check_monitor_top_k(trainer, current)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not trainer.sanity_checking:
            self.validated_at_step = trainer.global_step

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        due = self.save_last and self.dirpath and not trainer.fast_dev_run  # fast_dev_run never writes checkpoints
        if due and self.validated_at_step != trainer.global_step:
            path = Path(self.dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
            trainer.save_checkpoint(path, weights_only=False)  # a full checkpoint: resume needs the loops
            self.last_model_path = str(path)
