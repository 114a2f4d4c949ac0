"""Disentanglement metrics through the real CLI: a small dSprites grid is trained on, analysed against its known
factors and reported, and data without factors is refused when the metrics are required."""

import csv
import json

from tests.conftest import TINY_RUN, run_cli

# dSprites' renderer and protocol on a 288-combination grid (tests.dsprites_helpers.TinyDSprites), trained briefly.
SMALL_DSPRITES = ["data=dsprites", "data._target_=tests.dsprites_helpers.TinyDSprites", "data.num_eval_images=32",
                  "data.batch_size=32", "data.eval_batch_size=64", "model.latent_dim=4", "model.channels=[4,8,8,8]",
                  "model.hidden_dim=16", "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
                  "callbacks.latent_panels.num_images=4", "callbacks.latent_panels.num_samples=4"]
QUICK_FACTORS = ('analysis=["iwae.num_samples=2","iwae.num_images=8","traversal.num_base_images=1",'
                 '"factor_metrics.mig_num_train=500","factor_metrics.dci_num_train=300","factor_metrics.dci_num_test=200",'
                 '"factor_metrics.sap_num_train=300","factor_metrics.sap_num_test=200",'
                 '"factor_metrics.factor_vae_num_train=50","factor_metrics.factor_vae_num_eval=50",'
                 '"factor_metrics.factor_vae_num_variance_estimate=300","factor_metrics.beta_vae_num_train=50",'
                 '"factor_metrics.beta_vae_num_eval=50"]')


def test_a_dsprites_sweep_is_scored_against_its_factors_and_reported(tmp_path):
    result = run_cli("vae_lightning.train", "-m", *SMALL_DSPRITES, f"data.root={tmp_path / 'data'}",
                     f"data.cache_dir={tmp_path / 'cache'}", "model=conv_vae,beta_tcvae", "analyze=true",
                     QUICK_FACTORS, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for point in ("model=conv_vae", "model=beta_tcvae"):
        analysis = json.loads((tmp_path / "sweep" / point / "analysis" / "metrics.json").read_text())
        factors = analysis["factor_metrics"]
        assert factors["factors"] == ["shape", "scale", "orientation", "pos_x", "pos_y"]
        assert factors["mig"]["num_samples"] == 500 and 0 <= factors["mig"]["score"] <= 1
        assert 0 <= factors["dci"]["disentanglement"] <= 1 and len(factors["dci"]["per_dimension"]) == 4
        assert factors["factor_vae_score"]["num_train"] == 50
        assert "every grid combination encoded once" in factors["codes"]
        summary = (tmp_path / "sweep" / point / "analysis" / "summary.md").read_text()
        assert "Disentanglement against the known factors" in summary and "| MIG |" in summary
    report = run_cli("vae_lightning.report", "sweep=sweep", "trusted_packages=[tests]", cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    with (tmp_path / "sweep" / "report" / "runs.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(0 <= float(row["mig"]) <= 1 for row in rows)
    header = (tmp_path / "sweep" / "report" / "runs.md").read_text().splitlines()[0]
    assert "| MIG | DCI D | DCI C | DCI I | SAP | FactorVAE score | β-VAE score |" in header


def test_factor_metrics_required_on_data_without_factors_name_the_setting(tiny_data_root, tmp_path):
    trained = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                      "hydra.run.dir=run", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = run_cli("vae_lightning.analyze", "run=run", "factor_metrics.compute=true", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "factor_metrics.compute=true" in result.stderr and "data=fashion has no known generative factors" in \
        result.stderr
