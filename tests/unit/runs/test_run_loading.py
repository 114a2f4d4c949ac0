import pytest
import torch

from vae_lightning.engine.checkpoint_schema import FORMAT_KEY, FORMAT_VERSION
from vae_lightning.errors import CheckpointError
from vae_lightning.models import BetaVAE
from vae_lightning.models.nets.sub_pixel import SubPixelConv
from vae_lightning.runs.loading import resolve_target, restore_datamodule, restore_model


def _touch(path):
    """A checkpoint file that is an intact archive (picking one in a run checks its CRCs), holding nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({}, path)
    return path


def test_a_run_directory_resolves_to_its_best_checkpoint_and_analysis_folder(tmp_path):
    best = _touch(tmp_path / "run" / "checkpoints" / "best-epoch003.ckpt")
    _touch(tmp_path / "run" / "checkpoints" / "last.ckpt")
    target = resolve_target(tmp_path / "run")
    assert target.checkpoint_path == best
    assert target.output_dir == tmp_path / "run" / "analysis"
    assert target.tensorboard_dir == tmp_path / "run"
    assert resolve_target(tmp_path / "run", "last").checkpoint_path.name == "last.ckpt"


def test_a_run_from_an_older_version_keeps_writing_into_its_tensorboard_folder(tmp_path):
    _touch(tmp_path / "run" / "checkpoints" / "last.ckpt")
    (tmp_path / "run" / "tensorboard").mkdir()
    assert resolve_target(tmp_path / "run").tensorboard_dir == tmp_path / "run" / "tensorboard"


def test_a_checkpoint_inside_a_run_writes_into_that_run(tmp_path):
    last = _touch(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert resolve_target(last).output_dir == tmp_path / "run" / "analysis"


def test_a_loose_checkpoint_gets_its_own_analysis_folder(tmp_path):
    loose = _touch(tmp_path / "model.ckpt")
    assert resolve_target(loose).output_dir == resolve_target(loose).tensorboard_dir == tmp_path / "analysis_model"


@pytest.mark.parametrize("make", [lambda p: p / "nothing_here", lambda p: p])
def test_paths_that_are_not_runs_say_so(tmp_path, make):
    with pytest.raises(CheckpointError, match="run directory|does not exist"):
        resolve_target(make(tmp_path))


def test_model_is_restored_with_its_weights_in_its_evaluation_layout(tmp_path):
    torch.manual_seed(0)
    model = BetaVAE(latent_dim=3, channels=[4, 8], hidden_dim=8).eval()
    checkpoint = {FORMAT_KEY: FORMAT_VERSION, "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
                  "hyper_parameters": {"model": {"_target_": "vae_lightning.models.BetaVAE", **model.hparams}}}
    restored = restore_model(checkpoint, tmp_path / "x.ckpt")
    assert not restored.training
    torch.testing.assert_close(restored.vae.encoder.state_dict(), model.vae.encoder.state_dict())
    assert isinstance(restored.vae.decoder.upsample[-1], SubPixelConv)  # the one-channel output layer
    z = torch.randn(5, 3)
    torch.testing.assert_close(restored.decode_mean(z), model.decode_mean(z))


def test_data_settings_come_from_the_checkpoint_unless_overridden(tmp_path):
    saved = {"name": "fashion", "root": "/elsewhere", "seed": 3, "val_fraction": 0.2}
    datamodule = restore_datamodule({"datamodule_hyper_parameters": saved}, tmp_path / "x.ckpt", root=str(tmp_path),
                                    cache_dir=None)
    assert datamodule.hparams.root == str(tmp_path) and datamodule.hparams.seed == 3
    with pytest.raises(CheckpointError, match="datamodule_hyper_parameters"):
        restore_datamodule({}, tmp_path / "x.ckpt")
