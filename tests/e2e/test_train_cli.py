"""The training CLI end to end: real Hydra composition, a subprocess, files on disk."""

import json
import math

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import TINY_RUN, run_cli, tensorboard_runs
from vae_lightning.analysis.plots import CARD_WIDTH_PX

STEPS_PER_EPOCH = math.ceil(96 * 0.9 / 16)


@pytest.fixture(scope="module")
def finished_run(tiny_data_root, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("work")
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "model.beta=2",
                     "hydra.run.dir=outputs/first", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "outputs" / "first", result


def test_run_directory_holds_config_checkpoints_events_and_metrics(finished_run):
    run_dir, _ = finished_run
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert len(list((run_dir / "checkpoints").glob("best-epoch*.ckpt"))) == 1


def test_tensorboard_names_the_run_after_its_run_directory(finished_run):
    run_dir, _ = finished_run
    assert tensorboard_runs(run_dir.parent.parent) == {"outputs/first"}


def test_metrics_json_reports_the_objective_terms_in_nats(finished_run):
    run_dir, _ = finished_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    assert metrics["units"].startswith("nats per image")
    assert metrics["num_test_images"] == 32 and metrics["dataset"] == "fashion"
    assert metrics["epochs_trained"] == 2 and metrics["global_step"] == 2 * STEPS_PER_EPOCH
    assert math.isclose(test["neg_elbo"], test["recon"] + test["kl"], rel_tol=1e-5)
    assert math.isclose(test["loss"], test["recon"] + 2 * test["kl"], rel_tol=1e-5)
    assert len(metrics["test_kl_per_dim"]) == 4
    assert math.isclose(sum(metrics["test_kl_per_dim"]), test["kl"], rel_tol=1e-4)
    assert metrics["checkpoint"].startswith("checkpoints/best-epoch")


def test_last_lines_name_the_run_directory_and_test_numbers(finished_run):
    run_dir, result = finished_run
    last_lines = result.stdout.strip().splitlines()[-4:]  # the closing summary, then how to open TensorBoard
    assert str(run_dir.name) in last_lines[0] and "Run directory" in last_lines[0]
    assert "negative ELBO" in last_lines[1] and "nats/image" in last_lines[1]
    assert last_lines[2:] == ["See its curves and pictures with:", f"  tensorboard --logdir {run_dir}"]


def test_tensorboard_has_scalars_per_stage_and_image_panels(finished_run):
    run_dir, _ = finished_run
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0}).Reload()
    scalars, images = set(events.Tags()["scalars"]), set(events.Tags()["images"])
    for stage in ("val", "test"):
        assert {f"{stage}/loss", f"{stage}/recon", f"{stage}/kl", f"{stage}/neg_elbo"} <= scalars
        assert f"{stage}/kl_per_dim" in images  # one bar chart, not a scalar card per dimension
    assert not [tag for tag in scalars if "kl_per_dim" in tag]
    assert {"train/loss_epoch", "train/neg_elbo_epoch", "train/lr-Adam"} <= scalars and "epoch" not in scalars
    assert images == {"images/reconstructions", "images/samples", "images/latent_traversal",
                      "val/kl_per_dim", "test/kl_per_dim"}
    # One traversal panel per validation epoch, drawn for a card (its labels enlarged as the picture is reduced):
    # the input over 3 rows × 5 columns of 28×28 images, each cell still larger than its pixels.
    traversal = events.Images("images/latent_traversal")
    assert len(traversal) == 2
    assert 5 * 28 < traversal[-1].width <= 1.6 * CARD_WIDTH_PX and traversal[-1].height > 4 * 28


def test_checkpoint_loads_with_weights_only(finished_run):
    run_dir, _ = finished_run
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["model"]["beta"] == 2
    assert checkpoint["epoch"] == 1


def test_resume_from_last_checkpoint_continues_the_epoch_count(finished_run, tiny_data_root):
    run_dir, _ = finished_run
    cwd = run_dir.parent.parent
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "model.beta=2",
                     "trainer.max_epochs=3", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
                     "hydra.run.dir=outputs/resumed", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((cwd / "outputs" / "resumed" / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 3 and metrics["global_step"] == 3 * STEPS_PER_EPOCH


@pytest.mark.parametrize(("overrides", "expected"), [
    (["model.beta=-1"], "model.beta=-1"),
    (["ckpt_path=no/such/file.ckpt"], "no/such/file.ckpt"),
    (["data.root=missing_dir"], "missing_dir"),
])
def test_bad_inputs_give_one_clear_error_without_traceback(overrides, expected, tiny_data_root, tmp_path):
    root = [] if any(o.startswith("data.root") for o in overrides) else [f"data.root={tiny_data_root}"]
    result = run_cli("vae_lightning.train", *TINY_RUN, *root, *overrides, "hydra.run.dir=out", cwd=tmp_path)
    assert result.returncode == 2
    assert "Error:" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_a_checkpoint_is_refused(tiny_data_root, tmp_path):
    fake = tmp_path / "fake.ckpt"
    fake.write_bytes(b"not a checkpoint at all")
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", f"ckpt_path={fake}",
                     "hydra.run.dir=out", cwd=tmp_path)
    assert result.returncode == 2 and "fake.ckpt" in result.stderr and "Traceback" not in result.stderr


def _test_numbers(run_dir) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {**metrics["test"], "kl_per_dim": metrics["test_kl_per_dim"]}


def test_same_seed_reproduces_the_metrics_and_another_seed_does_not(finished_run, tiny_data_root):
    run_dir, _ = finished_run
    cwd = run_dir.parent.parent
    for name, seed in (("again", 0), ("other_seed", 1)):
        result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "model.beta=2",
                         f"seed={seed}", f"hydra.run.dir=outputs/{name}", cwd=cwd)
        assert result.returncode == 0, result.stderr[-3000:]
    assert _test_numbers(cwd / "outputs" / "again") == _test_numbers(run_dir)
    assert _test_numbers(cwd / "outputs" / "other_seed")["neg_elbo"] != _test_numbers(run_dir)["neg_elbo"]
    test_sets = {json.loads((folder / "metrics.json").read_text())["test_set"]
                 for folder in (run_dir, cwd / "outputs" / "again", cwd / "outputs" / "other_seed")}
    assert len(test_sets) == 1  # another seed, the same test images: the runs of a seed sweep pair
