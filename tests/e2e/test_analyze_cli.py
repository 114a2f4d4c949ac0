"""`python -m vae_lightning.analyze` end to end on a tiny trained run: every figure and number is produced."""

import json
import re

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import TINY_RUN, run_cli, tensorboard_runs

FIGURES = ["reconstructions", "samples", "interpolations", "latent_map_pca", "latent_map_tsne", "kl_per_dim",
           "traversal_strips", "traversal_0", "traversal_1"]
SMALL_ANALYSIS = [
    "iwae.num_samples=5", "iwae.num_images=20", "traversal.num_base_images=2", "traversal.steps=5",
    "traversal.grid_dims=3", "interpolation.num_pairs=2", "samples.count=9", "reconstructions.per_class=2",
    "latent_map.tsne=true", "latent_map.tsne_max_points=60",
]


@pytest.fixture(scope="module")
def analysed_run(tiny_data_root, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("analysis")
    trained = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "hydra.run.dir=run", cwd=cwd)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = run_cli("vae_lightning.analyze", f"run={cwd / 'run'}", f"data.root={tiny_data_root}", *SMALL_ANALYSIS,
                     cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "run", result


def test_every_figure_is_written_as_a_png(analysed_run):
    run_dir, _ = analysed_run
    for name in FIGURES:
        with Image.open(run_dir / "analysis" / f"{name}.png") as image:
            assert image.width > 100 and image.height > 50
    with Image.open(run_dir / "analysis" / "traversal.gif") as gif:
        assert gif.n_frames == 2 * 5 - 2


def test_numbers_state_split_and_sample_size_and_agree(analysed_run):
    run_dir, _ = analysed_run
    metrics = json.loads((run_dir / "analysis" / "metrics.json").read_text())
    elbo, iwae = metrics["objective"], metrics["iwae"]
    assert (elbo["split"], elbo["num_images"]) == ("test", 32)
    assert (iwae["split"], iwae["num_images"], iwae["num_samples"]) == ("test", 20, 5)
    assert elbo["neg_elbo"] == pytest.approx(elbo["recon"] + elbo["kl"])
    assert sum(elbo["kl_per_dim"]) == pytest.approx(elbo["kl"], rel=1e-4)
    assert metrics["active_units"]["count"] == sum(v > 0.01 for v in metrics["active_units"]["mu_variance"])
    probe = metrics["linear_probe"]
    assert probe["num_train"] == 86 and 0 <= probe["accuracy"] <= 1 and 0 <= probe["accuracy_on_samples"] <= 1
    assert probe["informative_dims"] == [d for d, kl in enumerate(elbo["kl_per_dim"]) if kl > probe["informative_kl"]]
    assert iwae["images"] == "a random 20, the same for every run"
    per_dim = metrics["traversal"]["per_dim"]
    assert [row["kl"] for row in per_dim] == sorted((row["kl"] for row in per_dim), reverse=True)
    assert len(per_dim) == 4


def test_bce_on_grey_pixels_is_labelled_a_reconstruction_loss_in_every_output(analysed_run):
    run_dir, _ = analysed_run
    for metrics_path in (run_dir / "metrics.json", run_dir / "analysis" / "metrics.json"):
        likelihood = json.loads(metrics_path.read_text())["likelihood"]
        assert likelihood["likelihood"] == "bernoulli" and likelihood["normalised"] is False
        assert "reconstruction loss, not a likelihood" in likelihood["quantity"]
    summary = (run_dir / "analysis" / "summary.md").read_text()
    assert "reconstruction loss, not a likelihood" in summary and "IWAE bound on −log p(x)" not in summary
    events = EventAccumulator(str(run_dir)).Reload()
    assert "likelihood/text_summary" in events.Tags()["tensors"]


def test_elbo_and_iwae_are_paired_on_the_same_images_with_a_k_convergence_check(analysed_run):
    run_dir, _ = analysed_run
    metrics = json.loads((run_dir / "analysis" / "metrics.json").read_text())
    iwae, convergence = metrics["iwae"], metrics["iwae_convergence"]
    gap = iwae["elbo_iwae_gap"]
    assert gap["mean"] == pytest.approx(iwae["neg_elbo"] - iwae["neg_log_likelihood"], abs=1e-4)
    assert gap["mean"] >= 0 and iwae["mc_standard_error"] > 0
    assert convergence["num_samples"] == [1, 10, 100, 1000] and convergence["num_images"] == 20
    bounds = convergence["neg_log_likelihood"]
    steps = convergence["change_from_previous_k"]
    assert [(step["from"], step["to"]) for step in steps] == [(1, 10), (10, 100), (100, 1000)]
    assert [step["mean"] for step in steps] == pytest.approx(
        [b - a for a, b in zip(bounds, bounds[1:], strict=False)], abs=1e-4)


def test_summary_is_saved_and_logged_and_the_console_gets_a_plain_digest(analysed_run):
    run_dir, result = analysed_run
    summary = (run_dir / "analysis" / "summary.md").read_text()
    assert "IWAE bound" in summary and "K = 5" in summary and "| quantity |" not in result.stdout
    assert f"summary.md (every number with its sample, each dimension): {run_dir / 'analysis'}" in result.stdout
    assert "**" not in result.stdout and "\\|" not in result.stdout
    assert "  IWAE bound (20 test images, K = 5, and its K-convergence) …" in result.stdout  # a line per phase
    assert not re.search(r"\n    IWAE K=5 +\d+% ", result.stdout)  # a phase of seconds: its line alone, no tenths
    seconds = json.loads((run_dir / "analysis" / "timings.json").read_text())["seconds"]
    assert list(seconds) == ["encoding", "objective terms", "IWAE bound", "sample quality", "probes and figures"]
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0}).Reload()
    assert {f"analysis/{name}" for name in FIGURES} <= set(events.Tags()["images"])
    assert tensorboard_runs(run_dir.parent) == {"run"}  # the figures join the run's own curves


def test_analysis_is_deterministic_given_the_seed(analysed_run, tiny_data_root):
    run_dir, _ = analysed_run
    first = (run_dir / "analysis" / "metrics.json").read_text()
    again = run_cli("vae_lightning.analyze", f"run={run_dir}", f"data.root={tiny_data_root}", *SMALL_ANALYSIS,
                    cwd=run_dir.parent)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (run_dir / "analysis" / "metrics.json").read_text() == first


@pytest.mark.parametrize("setting", ["threads=-2", "iwae.num_samples=0", "traversal.steps=1"])
def test_a_setting_out_of_range_is_one_paragraph_before_anything_loads(tmp_path, setting):
    result = run_cli("vae_lightning.analyze", f"run={tmp_path}", setting, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Error: {setting} is not allowed: it must be " in result.stderr


@pytest.mark.parametrize("target", ["no/such/run", "not_a_run"])
def test_a_path_that_is_not_a_run_is_reported_plainly(tmp_path, target):
    (tmp_path / "not_a_run").mkdir()
    result = run_cli("vae_lightning.analyze", f"run={tmp_path / target}", cwd=tmp_path)
    assert result.returncode == 2 and "Error:" in result.stderr and "Traceback" not in result.stderr
