"""model=cvae and model=vae_classifier through the real CLI: train, analyse, sweep and report as a user would."""

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import TINY_RUN, run_cli
from tests.data_helpers import write_idx_dataset

QUICK_ANALYSIS = 'analysis=["iwae.num_samples=3","iwae.num_images=16","traversal.num_base_images=2",' \
                 '"samples.per_class=3"]'


def _train(tiny_data_root: Path, cwd: Path, *overrides: str) -> Path:
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                     "analyze=true", QUICK_ANALYSIS, "hydra.run.dir=run", *overrides, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "run"


@pytest.fixture(scope="module")
def cvae_run(tiny_data_root, tmp_path_factory) -> Path:
    return _train(tiny_data_root, tmp_path_factory.mktemp("cvae"), "model=cvae")


def test_a_conditional_run_is_analysed_with_a_class_by_sample_grid_and_the_probe_beside_chance(cvae_run):
    metrics = json.loads((cvae_run / "metrics.json").read_text())
    assert metrics["hparams"]["num_classes"] == 10 and metrics["hparams"]["conditioning"] == "onehot"
    analysis = json.loads((cvae_run / "analysis" / "metrics.json").read_text())
    probe = analysis["linear_probe"]
    assert 0 < probe["chance"] < 1 and 0 <= probe["accuracy"] <= 1
    assert (cvae_run / "analysis" / "samples_by_class.png").is_file()
    assert not (cvae_run / "analysis" / "samples.png").exists()


def test_analyze_generates_chosen_classes_of_a_conditional_run(cvae_run):
    result = run_cli("vae_lightning.analyze", f"run={cvae_run}", "iwae.num_samples=2", "iwae.num_images=8",
                     "samples.classes=[Sneaker,0]", cwd=cvae_run.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_cli("vae_lightning.analyze", f"run={cvae_run}", "samples.classes=[Unicorn]", cwd=cvae_run.parent)
    assert result.returncode == 2 and "Unicorn" in result.stderr and "Traceback" not in result.stderr


def test_classifier_sweep_reports_accuracy_per_beta_and_labeled_fraction(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", "-m", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                     "model=vae_classifier", "model.beta=1,4", "data.labeled_fraction=0.2,1", "analyze=true",
                     QUICK_ANALYSIS, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    points = sorted((tmp_path / "sweep").glob("data.labeled_fraction=*"))
    assert len(points) == 4
    for point in points:
        test = json.loads((point / "metrics.json").read_text())["test"]
        analysis = json.loads((point / "analysis" / "metrics.json").read_text())
        assert 0 <= test["accuracy"] <= 1 and test["ce"] > 0
        assert analysis["objective"]["accuracy"] == pytest.approx(test["accuracy"], abs=1e-6)
    result = run_cli("vae_lightning.report", "sweep=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with (tmp_path / "sweep" / "report" / "by_beta.csv").open() as handle:
        groups = [(row["setting"], float(row["beta"])) for row in csv.DictReader(handle)]
    assert groups == [("data.labeled_fraction=0.2", 1.0), ("data.labeled_fraction=0.2", 4.0),
                      ("data.labeled_fraction=1", 1.0), ("data.labeled_fraction=1", 4.0)]
    summary = (tmp_path / "sweep" / "report" / "summary.md").read_text()
    assert "With `data.labeled_fraction=0.2`:" in summary and "classifier head accuracy" in summary


def test_a_conditional_model_on_two_domains_generates_in_a_chosen_domain(tmp_path):
    root = tmp_path / "data"
    write_idx_dataset(root, folder="MNIST", n_train=60, n_test=24, seed=1)
    write_idx_dataset(root, folder="FashionMNIST", n_train=60, n_test=24, seed=2)
    run = _train(root, tmp_path, "data=multidomain", "data.label=domain", "model=cvae")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["hparams"]["num_classes"] == 2
    analysis = json.loads((run / "analysis" / "metrics.json").read_text())
    assert analysis["domain_probe"]["domains"] == ["mnist", "fashion"]
    assert analysis["domain_probe"]["chance"] == pytest.approx(0.5)
    for name in ("samples_by_class", "interpolations_across_domains", "latent_map_pca_by_domain"):
        assert (run / "analysis" / f"{name}.png").is_file(), name
    result = run_cli("vae_lightning.analyze", f"run={run}", "iwae.num_samples=2", "iwae.num_images=8",
                     "samples.classes=[fashion]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_vamp_prior_run_trains_and_is_analysed_under_its_own_prior(tiny_data_root, tmp_path):
    run = _train(tiny_data_root, tmp_path, "model=vamp", "model.num_pseudo_inputs=8", "data.binarize=dynamic")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "vae_lightning.models.vamp.VampPrior" and metrics["hparams"]["num_pseudo_inputs"] == 8
    assert "single-sample Monte Carlo estimate" in metrics["term_descriptions"]["kl"]
    iwae = json.loads((run / "analysis" / "metrics.json").read_text())["iwae"]
    assert iwae["elbo_iwae_gap"]["mean"] >= 0 and iwae["neg_log_likelihood"] > 0
    assert (run / "analysis" / "samples.png").is_file()
