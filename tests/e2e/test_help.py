"""Each entry point's --help, `threads=` everywhere, and the project's message for a misspelt key."""

import pytest

from tests.conftest import run_cli

TRAINING_GROUPS = ("model: beta_tcvae", "data: celeba", "experiment: beta_sweep")


def test_train_help_describes_the_command_its_groups_settings_and_examples(tmp_path):
    result = run_cli("vae_lightning.train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for text in ("train a VAE on images", "Main settings", "model.beta", "threads", "resume=<run dir>", "Examples:",
                 *TRAINING_GROUPS):
        assert text in result.stdout, text


@pytest.mark.parametrize(("module", "own"), [("vae_lightning.analyze", ("run=<run dir | .ckpt>", "iwae.num_images")),
                                             ("vae_lightning.report", ("sweep=<sweep dir>", "analyze_missing"))])
def test_analyze_and_report_help_list_their_own_settings_not_the_training_groups(module, own, tmp_path):
    result = run_cli(module, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "Examples:" in result.stdout and "threads" in result.stdout
    assert all(text in result.stdout for text in own)
    assert not any(group in result.stdout for group in TRAINING_GROUPS)


@pytest.mark.parametrize(("module", "arguments"), [("vae_lightning.analyze", ["run=no_such_run"]),
                                                   ("vae_lightning.report", ["sweep=no_such_sweep"])])
def test_every_entry_point_accepts_threads(module, arguments, tmp_path):
    result = run_cli(module, *arguments, "threads=1", cwd=tmp_path)
    assert result.returncode == 2 and "no_such" in result.stderr and "threads" not in result.stderr


@pytest.mark.parametrize(("module", "arguments", "expected"), [
    ("vae_lightning.train", ["model.bta=4"], "model.bta is not a setting (a misspelling?). Did you mean model.beta?"),
    ("vae_lightning.train", ["model=cvae", "model.conditionng=onehot"], "Did you mean model.conditioning?"),
    ("vae_lightning.train", ["sed=3"], "sed is not a setting (a misspelling?). Did you mean seed?"),
    ("vae_lightning.analyze", ["run=x", "iwae.num_sampels=4"], "Did you mean iwae.num_samples?"),
])
def test_a_misspelt_key_gets_the_projects_message_without_a_plus(module, arguments, expected, tmp_path):
    result = run_cli(module, *arguments, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "+model.bta" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("module", "arguments", "expected"), [
    ("vae_lightning.analyze", ["run=x", "threads=-2"], "threads=-2 is not allowed: it must be an integer ≥ 1"),
    ("vae_lightning.report", ["sweep=x", "threads=-2"], "threads=-2 is not allowed: it must be an integer ≥ 1"),
    ("vae_lightning.report", ["sweep=x", "traversal.dims=0"], "traversal.dims=0 is not allowed"),
    ("vae_lightning.train", ["-m", "model.beta=1,2", "--cfg", "hydra"], "--multirun and --cfg cannot be used together"),
])
def test_a_bad_setting_or_flag_of_any_entry_point_is_one_paragraph(module, arguments, expected, tmp_path):
    result = run_cli(module, *arguments, cwd=tmp_path)
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr
