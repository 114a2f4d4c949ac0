"""The report reuses an analysis only for the checkpoint it analysed, and compares only runs tested on the same
images."""

from pathlib import Path

import pytest
import torch

from vae_lightning.reporting.collect import FINISHED, Run, SweepError
from vae_lightning.reporting.missing_analyses import stale_analysis
from vae_lightning.reporting.pairing import check_same_test_set
from vae_lightning.reporting.run_files import metrics_problem
from vae_lightning.runs.checkpoint_files import file_digest


def _run_with_best(tmp_path: Path, name: str, content: str = "weights") -> Path:
    """A checkpoint file whose archive is intact (the report checks its CRCs) and whose bytes depend on `content`."""
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"content": content}, folder / name)
    return folder / name


def test_an_analysis_of_the_current_best_checkpoint_is_reused(tmp_path):
    best = _run_with_best(tmp_path, "best-epoch001.ckpt")
    moved = {"checkpoint": "/elsewhere/run/checkpoints/best-epoch001.ckpt", "checkpoint_sha256": file_digest(best)}
    assert stale_analysis(moved, tmp_path / "run", "best") is None  # a moved folder changes the path, not the name


def test_an_analysis_of_a_replaced_best_checkpoint_is_not_reused(tmp_path):
    best = _run_with_best(tmp_path, "best-epoch001.ckpt")
    analysis = {"checkpoint": str(best.parent / "best-epoch000.ckpt"), "checkpoint_sha256": file_digest(best)}
    assert "is of best-epoch000.ckpt, but the run's best checkpoint is now best-epoch001.ckpt" in stale_analysis(
        analysis, tmp_path / "run", "best")


def test_an_analysis_of_an_earlier_file_of_the_same_name_is_not_reused(tmp_path):
    best = _run_with_best(tmp_path, "best-epoch001.ckpt", "epoch 1 before the kill")
    analysis = {"checkpoint": str(best), "checkpoint_sha256": file_digest(best)}
    _run_with_best(tmp_path, "best-epoch001.ckpt", "epoch 1 trained again")
    assert "written again" in stale_analysis(analysis, tmp_path / "run", "best")
    assert "no content hash" in stale_analysis({"checkpoint": str(best)}, tmp_path / "run", "best")


def test_with_the_checkpoints_deleted_only_an_analysis_of_the_tested_checkpoint_is_kept(tmp_path):
    (tmp_path / "run").mkdir()
    analysis = {"checkpoint": "/old/run/checkpoints/best-epoch002.ckpt"}
    assert stale_analysis(analysis, tmp_path / "run", "best", "checkpoints/best-epoch002.ckpt") is None
    assert "not the run's tested best" in stale_analysis(analysis, tmp_path / "run", "best",
                                                          "checkpoints/best-epoch003.ckpt")


def _finished(name: str, test_set: str | None, setting: str = "") -> Run:
    metrics = {"test": {"loss": 1.0}} | ({"test_set": test_set} if test_set else {})
    return Run(status=FINISHED, overrides=[], setting=setting, path=Path(name), metrics=metrics)


def test_runs_tested_on_different_images_are_not_paired():
    check_same_test_set([_finished("seed=0", "abc"), _finished("seed=1", "abc"), _finished("old", None)])
    check_same_test_set([_finished("data=mnist", "abc", "data=mnist"), _finished("data=fashion", "def",
                                                                                 "data=fashion")])
    with pytest.raises(SweepError, match="seed=0 and seed=1 were tested on different images .*abc vs def"):
        check_same_test_set([_finished("seed=0", "abc"), _finished("seed=1", "def")])


def test_a_finished_runs_test_set_fingerprint_reads_as_part_of_its_results():
    finished = {"test": {"loss": 1.0, "kl": 0.5}, "test_kl_per_dim": [0.25, 0.25], "test_set": "c0f60af032398cb3"}
    assert metrics_problem(finished) is None
    assert "not the test images' fingerprint" in metrics_problem({**finished, "test_set": [1, 2]})
