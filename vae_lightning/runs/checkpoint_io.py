"""How the Trainer writes checkpoints: atomically, on any filesystem, and with one clear error when the disk is full.

Lightning's own `TorchCheckpointIO` writes into the target file directly, so a kill or a full disk can leave a
truncated `last.ckpt` or best checkpoint behind, which a resume or `analyze` would then pick.
"""

from pathlib import Path
from typing import Any, BinaryIO

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from vae_lightning.atomic_files import write_atomic
from vae_lightning.errors import StorageError


class AtomicCheckpointIO(TorchCheckpointIO):
    """`TorchCheckpointIO` whose saves go through `write_atomic`: the old file or the new one, never a partial one."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        path = Path(path)
        try:
            write_atomic(path, lambda handle: self.serialize(checkpoint, handle))
        except OSError as error:
            raise StorageError(
                f"Could not write the checkpoint {path} ({error.strerror or error}). The checkpoints written before "
                "are intact and no partial file was left. Free space in (or fix the permissions of) "
                f"{path.parent}, then continue the run with resume=<its run directory>."
            ) from error

    def serialize(self, checkpoint: dict[str, Any], handle: BinaryIO) -> None:
        """Write the checkpoint's bytes into an open file (a seam for tests that inject write errors)."""
        torch.save(checkpoint, handle)
