"""The run's checkpoints: the best epoch by a finite validation score, and `last.ckpt` at the end of every training
epoch, named by the file alone so a moved or copied run folder keeps updating the same files."""

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

# What ModelCheckpoint's state holds as paths inside its folder (`best_k_models` maps such paths to scores).
_PATH_KEYS = ("best_model_path", "kth_best_model_path", "last_model_path")


class RunCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` with the guarantees a resume and `analyze` rely on.

    - A NaN or infinite score never becomes the best checkpoint (Lightning ranks NaN as +inf, so a diverged first
      validation would otherwise be kept as "best").
    - `last.ckpt` is written at the end of every training epoch and only there, also after epochs without validation
      (`trainer.check_val_every_n_epoch` > 1): a kill never loses more than the epoch in progress, and a resume
      always starts at an epoch boundary, the only place it continues exactly (Lightning cannot restore the position
      inside an epoch's shuffled batches, so a mid-epoch `last.ckpt`, e.g. after `trainer.val_check_interval=0.5`,
      would train on to another model).
    - The saved state is re-based onto the current folder when the run folder was moved or copied: Lightning would
      otherwise forget its files, write `last-v1.ckpt` beside a stale `last.ckpt` and keep an old best for ever.
      A file of the same name is overwritten rather than versioned: an epoch trained again after a kill is the same
      epoch.
    """

    def __init__(self, *args: Any, save_last: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, save_last=False, enable_version_counter=False, **kwargs)
        self.writes_last = bool(save_last)

    def check_monitor_top_k(self, trainer: L.Trainer, current: torch.Tensor | None = None) -> bool:
        if current is not None and not torch.isfinite(current).all():
            return False
        return super().check_monitor_top_k(trainer, current)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self.writes_last and self.dirpath and not trainer.fast_dev_run:  # fast_dev_run never writes checkpoints
            path = Path(self.dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
            self.last_model_path = str(path)  # before saving: it is part of the saved state
            trainer.save_checkpoint(path, weights_only=False)  # a full checkpoint: resume needs the loops

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("dirpath")
        if saved is not None and self.dirpath is not None and saved != self.dirpath:
            state_dict = rebased_state(state_dict, Path(saved), Path(self.dirpath))
        super().load_state_dict(state_dict)


def rebased_state(state: dict[str, Any], old: Path, new: Path) -> dict[str, Any]:
    """ModelCheckpoint's saved `state` with every path inside `old` moved to the same name inside `new`."""

    def moved(path: Any) -> Any:
        return str(new / Path(path).name) if path and Path(path).parent == old else path

    rebased = {**state, "dirpath": str(new), **{key: moved(state[key]) for key in _PATH_KEYS if key in state}}
    if isinstance(state.get("best_k_models"), dict):
        rebased["best_k_models"] = {moved(path): score for path, score in state["best_k_models"].items()}
    return rebased
