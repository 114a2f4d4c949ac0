"""What a resume checks beyond the settings: the same images (their fingerprints), the same precision, and a
checkpoint written at an epoch's end."""

import pytest
import torch

from vae_lightning.engine.checkpoint_schema import DATA_KEY, PRECISION_KEY
from vae_lightning.errors import CheckpointError
from vae_lightning.runs.checkpoint_files import (
    check_same_data,
    check_same_precision,
    file_digest,
    written_mid_epoch,
)
from vae_lightning.runs.directory import resumable_checkpoint

RUN_DATA = {"train": "aaaa", "val": "bbbb", "test": "cccc"}


def test_other_images_under_the_same_settings_are_refused_naming_both_fingerprints():
    checkpoint = {DATA_KEY: RUN_DATA}
    check_same_data(checkpoint, "run/checkpoints/last.ckpt", dict(RUN_DATA))
    with pytest.raises(CheckpointError) as error:
        check_same_data(checkpoint, "run/checkpoints/last.ckpt", RUN_DATA | {"train": "ffff", "test": "eeee"},
                        "/data/fashion")
    message = str(error.value)
    assert "train split: run aaaa vs now ffff" in message and "test split: run cccc vs now eeee" in message
    assert "data.root=/data/fashion" in message and "redo=true" in message and "val split" not in message


def test_a_checkpoint_without_fingerprints_is_not_checked():
    check_same_data({}, "old.ckpt", RUN_DATA)


@pytest.mark.parametrize(("saved", "now", "refused"), [
    ("bf16-mixed", "32-true", True), ("32-true", "bf16-mixed", True), ("32-true", "32", False),
    ("bf16-mixed", "bf16", False), (None, "bf16-mixed", False),
])
def test_another_precision_is_refused_naming_both(saved, now, refused):
    checkpoint = {PRECISION_KEY: saved} if saved else {}
    if not refused:
        check_same_precision(checkpoint, "run/checkpoints/last.ckpt", now)
        return
    with pytest.raises(CheckpointError, match=f"trainer.precision={saved} .* with {now}.*trainer.precision={saved}"):
        check_same_precision(checkpoint, "run/checkpoints/last.ckpt", now)


def _checkpoint(path, last_batch: bool, epoch: int = 0):
    loops = {"fit_loop": {"epoch_loop.batch_progress": {"is_last_batch": last_batch}}}
    torch.save({"state_dict": {"model.w": torch.zeros(1)}, "epoch": epoch, "loops": loops}, path)
    return path


def test_a_mid_epoch_checkpoint_is_never_continued_from(tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    _checkpoint(folder / "last.ckpt", last_batch=False, epoch=2)
    _checkpoint(folder / "best-epoch002.ckpt", last_batch=False, epoch=2)
    assert resumable_checkpoint(tmp_path) is None
    assert "written in the middle of epoch 2" in capsys.readouterr().out
    best = _checkpoint(folder / "best-epoch001.ckpt", last_batch=True, epoch=1)
    assert resumable_checkpoint(tmp_path) == best
    assert written_mid_epoch(torch.load(folder / "last.ckpt")) and not written_mid_epoch(torch.load(best))


def test_the_digest_names_the_content_not_the_path(tmp_path):
    (tmp_path / "a.ckpt").write_bytes(b"weights")
    (tmp_path / "b.ckpt").write_bytes(b"weights")
    (tmp_path / "c.ckpt").write_bytes(b"weights, trained on")
    assert file_digest(tmp_path / "a.ckpt") == file_digest(tmp_path / "b.ckpt") != file_digest(tmp_path / "c.ckpt")
