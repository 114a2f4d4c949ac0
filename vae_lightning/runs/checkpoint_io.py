"""How the Trainer writes and reads checkpoints: atomically, on any filesystem, with one clear error when the disk is
full, and never reading a damaged file.

Lightning's own `TorchCheckpointIO` writes into the target file directly, so a kill or a full disk can leave a
truncated `last.ckpt` or best checkpoint behind, which a resume or `analyze` would then pick. `torch.save` into a
file also turns a full disk into a RuntimeError ("enforce fail at inline_container.cc") that no longer says so: the
checkpoint is serialised in memory first (a few MB for these models), so the disk write is a plain write whose
OSError names the cause, and its size is the space needed.
"""

import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from vae_lightning.atomic_files import write_atomic
from vae_lightning.runs.checkpoint_integrity import verify_intact
from vae_lightning.runs.disk_errors import storage_error


class AtomicCheckpointIO(TorchCheckpointIO):
    """`TorchCheckpointIO` whose saves go through `write_atomic` (the old file or the new one, never a partial one)
    and whose loads check every record's CRC first."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        path = Path(path)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        try:
            self.write_file(path, buffer.getbuffer())
        except OSError as error:
            raise storage_error(
                path, error, buffer.getbuffer().nbytes,
                "The checkpoints written before are intact and no partial file was left.",
                "continue the run with resume=<its run directory>.",
            ) from None

    def load_checkpoint(self, path: str | Path, *args: Any, **kwargs: Any) -> dict[str, Any]:
        verify_intact(Path(path))
        return super().load_checkpoint(path, *args, **kwargs)

    def write_file(self, path: Path, data: memoryview) -> None:
        """Put a serialised checkpoint on disk, atomically (a seam for tests that inject a full disk)."""
        write_atomic(path, lambda handle: handle.write(data))
