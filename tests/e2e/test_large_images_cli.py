"""data=image_folder through the real CLI: an RGB folder trains, tests and is analysed, with either likelihood."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_cli

SIDE = 32
SMALL_RGB_RUN = [
    "data=image_folder", f"data.image_size={SIDE}", "data.test_fraction=0.25", "data.val_fraction=0.25",
    "data.batch_size=16", "data.eval_batch_size=64",
    "model.latent_dim=4", "model.channels=[4,8]", "model.hidden_dim=16", "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false", "callbacks.latent_panels.num_images=4",
    "callbacks.latent_panels.num_samples=4", "callbacks.latent_panels.traversal_dims=2",
    "callbacks.latent_panels.traversal_steps=3", "hydra.run.dir=run",
]
QUICK_ANALYSIS = ('analysis=["iwae.num_samples=2","iwae.num_images=8","traversal.num_base_images=2",'
                  '"traversal.steps=3","traversal.grid_dims=2","interpolation.num_pairs=2","samples.count=4",'
                  '"reconstructions.per_class=2"]')
ANALYSIS_FIGURES = ("reconstructions", "samples", "interpolations", "latent_map_pca", "traversal_strips")


@pytest.fixture(scope="module")
def rgb_folder(tmp_path_factory) -> Path:
    """Two classes of 20 transparent 40×40 icons: a red disc and a blue square at random places."""
    root = tmp_path_factory.mktemp("icons")
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:40, :40]
    for name, colour in (("discs", (220, 30, 30)), ("squares", (30, 30, 220))):
        (root / name).mkdir()
        for index in range(20):
            y, x = rng.integers(10, 30, size=2)
            inside = (np.hypot(rows - y, cols - x) < 8) if name == "discs" else (
                (abs(rows - y) < 7) & (abs(cols - x) < 7))
            pixels = np.zeros((40, 40, 4), dtype=np.uint8)
            pixels[inside] = (*colour, 255)
            Image.fromarray(pixels, mode="RGBA").save(root / name / f"{index}.png")
    return root


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_an_rgb_image_folder_trains_tests_and_is_analysed(rgb_folder, tmp_path, likelihood):
    result = run_cli("vae_lightning.train", *SMALL_RGB_RUN, f"data.path={rgb_folder}", "data.name=icons",
                     f"model.likelihood={likelihood}", "analyze=true", QUICK_ANALYSIS, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["dataset"] == "icons" and metrics["num_test_images"] == 10  # a quarter of each class of 20
    assert metrics["hparams"]["image_shape"] == [3, SIDE, SIDE]
    assert np.isfinite(metrics["test"]["neg_elbo"])
    for name in ANALYSIS_FIGURES:
        with Image.open(tmp_path / "run" / "analysis" / f"{name}.png") as figure:
            assert figure.mode in ("RGB", "RGBA") and figure.width > 100
    assert list((tmp_path / "cache" / "vae_lightning" / "decoded").glob("*.pt"))


def test_a_missing_image_folder_is_reported_without_a_traceback(tmp_path):
    result = run_cli("vae_lightning.train", *SMALL_RGB_RUN, f"data.path={tmp_path / 'nowhere'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"data.path={tmp_path / 'nowhere'} does not exist" in result.stderr


def test_an_unset_image_folder_says_how_to_set_it(tmp_path):
    result = run_cli("vae_lightning.train", *SMALL_RGB_RUN, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "data.path=None is not allowed" in result.stderr and "data.path=/your/images" in result.stderr
    assert not (tmp_path / "run").exists()
