"""The β-sweep experiment through the real CLI: Hydra multirun on the joblib launcher, one analysed run per point."""

import json
from pathlib import Path

from hydra import compose, initialize_config_dir

import vae_lightning.train
from tests.conftest import TINY_RUN, run_cli

CONF_DIR = Path(vae_lightning.train.__file__).parent / "conf"


def _compose(*overrides: str):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_beta_sweep_defaults_to_seven_betas_on_fashion_with_analysis():
    cfg = _compose("experiment=beta_sweep")
    assert cfg.hydra.sweeper.params["model.beta"] == "0.25,0.5,1,2,4,8,16"
    assert cfg.data.name == "fashion" and cfg.analyze is True


def test_launcher_configs_compose_for_joblib_and_slurm():
    assert _compose("hydra/launcher=parallel").hydra.launcher.n_jobs == 2
    slurm = _compose("hydra/launcher=slurm").hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher") and slurm.gpus_per_node == 1


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
