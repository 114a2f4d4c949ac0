import os
from pathlib import Path

import pytest
import torch

from vae_lightning.errors import CheckpointError
from vae_lightning.runs.checkpoint_files import check_compatible, load_checkpoint


class RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _vae_checkpoint(path: Path, **extra) -> Path:
    torch.save({"state_dict": {"vae.encoder.w": torch.zeros(2)}, "hyper_parameters": {"latent_dim": 4}, **extra},
               path)
    return path


def test_a_vae_checkpoint_loads(tmp_path):
    checkpoint = load_checkpoint(_vae_checkpoint(tmp_path / "ok.ckpt"))
    assert checkpoint["hyper_parameters"]["latent_dim"] == 4


def test_a_pickle_that_would_run_code_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _vae_checkpoint(tmp_path / "evil.ckpt", payload=RunsCodeWhenUnpickled())
    with pytest.raises(CheckpointError, match="refused.*GLOBAL posix.system"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"definitely not a checkpoint", "not a PyTorch checkpoint"),
    (None, "does not exist"),
])
def test_missing_or_foreign_files_are_named(tmp_path, content, message):
    path = tmp_path / "model.ckpt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as error:
        load_checkpoint(path)
    assert "model.ckpt" in str(error.value)


def test_a_torch_file_without_vae_weights_is_not_a_vae_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {"resnet.fc.weight": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="not a vae_lightning checkpoint"):
        load_checkpoint(path)


def test_architecture_mismatch_names_the_keys(tmp_path):
    checkpoint = {"hyper_parameters": {"latent_dim": 4, "channels": [32, 64], "beta": 1.0}}
    with pytest.raises(CheckpointError, match="latent_dim: checkpoint 4 vs config 8"):
        check_compatible(checkpoint, "x.ckpt", {"latent_dim": 8, "channels": (32, 64), "beta": 4.0})
    check_compatible(checkpoint, "x.ckpt", {"latent_dim": 4, "channels": (32, 64), "beta": 4.0})


def test_derived_channels_match_the_same_widths_spelt_out():
    checkpoint = {"hyper_parameters": {"image_shape": [1, 28, 28], "channels": [32, 64]}}
    check_compatible(checkpoint, "x.ckpt", {"image_shape": (1, 28, 28), "channels": None})
    with pytest.raises(CheckpointError, match="channels"):
        check_compatible(checkpoint, "x.ckpt", {"image_shape": (1, 64, 64), "channels": None})
