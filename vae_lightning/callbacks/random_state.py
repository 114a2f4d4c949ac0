"""Carry the global random state through checkpoints, so a resumed run draws the same noise as one never stopped."""

from typing import Any

import lightning as L
import torch


class RandomStateInCheckpoints(L.Callback):
    """Saves torch's CPU and CUDA generator states with each checkpoint and restores them when training resumes.

    Lightning restores weights, optimiser, counters and the data order, but not the generator that draws the
    reparameterisation noise. The state is put back at `on_train_start` — after the sanity-check validation, which
    would otherwise consume draws an uninterrupted run never made.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return {"torch": torch.get_rng_state(), "cuda": cuda}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._pending is None:
            return
        torch.set_rng_state(self._pending["torch"])
        if self._pending["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self._pending["cuda"])
        self._pending = None
