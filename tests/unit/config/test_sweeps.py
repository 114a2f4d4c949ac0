"""The β-sweep experiment and the launcher configs compose as the sweep needs them."""

from tests.config_helpers import compose_train


def test_beta_sweep_defaults_to_seven_betas_on_fashion_with_analysis():
    cfg = compose_train("experiment=beta_sweep", return_hydra_config=True)
    assert cfg.hydra.sweeper.params["model.beta"] == "0.25,0.5,1,2,4,8,16"
    assert cfg.data.name == "fashion" and cfg.analyze is True


def test_launcher_configs_compose_for_joblib_and_slurm():
    assert compose_train("hydra/launcher=parallel", return_hydra_config=True).hydra.launcher.n_jobs == 2
    slurm = compose_train("hydra/launcher=slurm", return_hydra_config=True).hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher") and slurm.gpus_per_node == 1
