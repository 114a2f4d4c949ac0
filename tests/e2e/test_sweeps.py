"""The β-sweep experiment through the real CLI: Hydra multirun on the joblib launcher, one analysed run per point."""

import json

from tests.conftest import TINY_RUN, run_cli


def test_parallel_beta_sweep_trains_and_analyses_each_point(tiny_data_root, tmp_path):
    result = run_cli("vae_lightning.train", "-m", "experiment=beta_sweep", *TINY_RUN, f"data.root={tiny_data_root}",
                     "trainer.max_epochs=1", "model.beta=0.5,4", "hydra/launcher=parallel", "threads=1",
                     'analysis=["iwae.num_samples=5","traversal.num_base_images=1"]', "hydra.sweep.dir=sweep",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in result.stdout + result.stderr
    points = sorted(path.name for path in (tmp_path / "sweep").iterdir() if path.is_dir())
    assert points == ["model.beta=0.5", "model.beta=4"]  # the command line's βs replace the experiment's seven
    for point in points:
        metrics = json.loads((tmp_path / "sweep" / point / "metrics.json").read_text())
        analysis = json.loads((tmp_path / "sweep" / point / "analysis" / "metrics.json").read_text())
        assert metrics["hparams"]["beta"] == analysis["beta"] == float(point.split("=")[1])
        assert analysis["iwae"]["num_samples"] == 5
