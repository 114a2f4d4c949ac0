"""RunCheckpoint after its run folder was moved or copied: the same files are updated, none is forgotten."""

import warnings

from vae_lightning.callbacks import RunCheckpoint


def _saved_state(folder) -> dict:
    return {"monitor": "val/loss", "best_model_score": 1.5, "best_model_path": str(folder / "best-epoch001.ckpt"),
            "current_score": 1.5, "dirpath": str(folder), "best_k_models": {str(folder / "best-epoch001.ckpt"): 1.5},
            "kth_best_model_path": str(folder / "best-epoch001.ckpt"), "kth_value": 1.5,
            "last_model_path": str(folder / "last.ckpt")}


def test_a_moved_run_folder_keeps_its_best_and_last_checkpoints_by_name(tmp_path):
    old, new = tmp_path / "a" / "checkpoints", tmp_path / "b" / "checkpoints"
    checkpoint = RunCheckpoint(dirpath=new, monitor="val/loss", save_top_k=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Lightning warns when it drops the state of a changed folder
        checkpoint.load_state_dict(_saved_state(old))
    assert checkpoint.last_model_path == str(new / "last.ckpt")
    assert checkpoint.best_model_path == str(new / "best-epoch001.ckpt")
    assert checkpoint.best_k_models == {str(new / "best-epoch001.ckpt"): 1.5}
    assert checkpoint.kth_best_model_path == str(new / "best-epoch001.ckpt")
    assert checkpoint.best_model_score == 1.5


def test_last_is_written_by_the_callback_itself_and_never_versioned(tmp_path):
    checkpoint = RunCheckpoint(dirpath=tmp_path, monitor="val/loss", save_top_k=1)
    assert checkpoint.writes_last and not checkpoint.save_last  # Lightning's own mid-epoch last.ckpt is off
    assert not checkpoint._enable_version_counter
    assert not RunCheckpoint(dirpath=tmp_path, save_last=False).writes_last
