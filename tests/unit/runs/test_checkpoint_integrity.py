"""A checkpoint whose bytes changed after it was written (a flipped bit) is refused on every load, and `analyze`
and a resume fall back to the newest intact checkpoint of the run, saying so (issue 26, item 6)."""

import struct
import zipfile
from pathlib import Path

import pytest
import torch

from vae_lightning.errors import CheckpointError
from vae_lightning.runs.checkpoint_files import load_checkpoint
from vae_lightning.runs.checkpoint_io import AtomicCheckpointIO
from vae_lightning.runs.directory import resumable_checkpoint
from vae_lightning.runs.loading import resolve_target


def write_checkpoint(path: Path, value: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"model.w": torch.full((64,), value)}}, path)
    return path


def flip_a_weight_bit_of(path: Path) -> Path:
    """Flip one bit inside the first tensor's bytes, as a bad disk or copy does (the zip stays readable)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        record = next(info for info in archive.infolist() if "/data/" in info.filename)
    name_length, extra_length = struct.unpack("<HH", data[record.header_offset + 26:record.header_offset + 30])
    data[record.header_offset + 30 + name_length + extra_length + 5] ^= 0x10
    path.write_bytes(data)
    return path


def test_a_flipped_bit_loads_in_torch_but_is_refused_naming_the_record(tmp_path):
    path = flip_a_weight_bit_of(write_checkpoint(tmp_path / "last.ckpt", 1.0))
    torch.load(path, weights_only=True)  # torch itself does not notice
    with pytest.raises(CheckpointError, match=r"is damaged: the record .*data/0 fails its CRC-32 check"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="fails its CRC-32 check"):
        AtomicCheckpointIO().load_checkpoint(path)  # the Trainer's own reads (fit's ckpt_path, test's best)


def test_analyze_falls_back_to_the_newest_intact_checkpoint_and_says_so_in_one_line(tmp_path, capsys):
    best = flip_a_weight_bit_of(write_checkpoint(tmp_path / "run" / "checkpoints" / "best-epoch002.ckpt", 2.0))
    last = write_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", 3.0)
    assert resolve_target(tmp_path / "run", "best").checkpoint_path == last
    (line,) = capsys.readouterr().out.splitlines()
    assert f"{best} is damaged" in line and f"analysing {last} instead, the newest intact checkpoint" in line


def test_every_checkpoint_damaged_is_one_clear_error(tmp_path):
    for name in ("best-epoch002.ckpt", "last.ckpt"):
        flip_a_weight_bit_of(write_checkpoint(tmp_path / "run" / "checkpoints" / name, 1.0))
    with pytest.raises(CheckpointError, match="Every checkpoint of .* is damaged"):
        resolve_target(tmp_path / "run", "last")


def test_a_resume_passes_over_a_flipped_last_checkpoint_to_the_best_one(tmp_path, capsys):
    best = write_checkpoint(tmp_path / "run" / "checkpoints" / "best-epoch001.ckpt", 1.0)
    flip_a_weight_bit_of(write_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", 2.0))
    assert resumable_checkpoint(tmp_path / "run") == best
    assert "fails its CRC-32 check" in capsys.readouterr().out

