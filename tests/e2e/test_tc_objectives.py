"""β-TCVAE and FactorVAE through the real CLI: each trains, and its total correlation reaches metrics.json, the
analysis and its summary."""

import json
import math

import pytest

from tests.conftest import TINY_RUN, run_cli


@pytest.mark.parametrize("model", ["beta_tcvae", "factor_vae"])
def test_the_tc_family_trains_and_is_analysed_through_the_cli(model, tiny_data_root, tmp_path):
    extra = ["model.discriminator_hidden=16", "model.discriminator_layers=2"] if model == "factor_vae" else []
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", "trainer.max_epochs=1",
                     f"model={model}", *extra, "analyze=true", 'analysis=["iwae.num_samples=2","iwae.num_images=8"]',
                     "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    analysis = json.loads((tmp_path / "run" / "analysis" / "metrics.json").read_text())
    assert math.isfinite(metrics["test"]["total_correlation"])
    assert math.isfinite(analysis["objective"]["total_correlation"])
    assert "total correlation" in (tmp_path / "run" / "analysis" / "summary.md").read_text()
