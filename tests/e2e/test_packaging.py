"""The packaged configs work from a built wheel, and ./conf of the working directory is searched before them."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO_ROOT

PROJECT_FILES = ("pyproject.toml", "README.md", "conf", "vae_lightning", "hydra_plugins")


def _install_wheel(tmp_path: Path) -> Path:
    """Build the project's wheel from a copy of its sources and unpack it, as pip would install it."""
    source = tmp_path / "source"
    for name in PROJECT_FILES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(path, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True, timeout=300)
    site = tmp_path / "site"
    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as wheel:
        wheel.extractall(site)
    return site


def test_an_installed_wheel_composes_its_packaged_configs_after_the_projects_own(tmp_path):
    site = _install_wheel(tmp_path)
    assert (site / "vae_lightning" / "conf" / "train.yaml").is_file()
    assert not (site / "vae_lightning" / "conf").is_symlink()
    project = tmp_path / "project"
    (project / "conf" / "experiment").mkdir(parents=True)
    (project / "conf" / "experiment" / "my_study.yaml").write_text("# @package _global_\nmodel:\n  beta: 7.5\n")
    (project / "conf" / "model").mkdir()
    (project / "conf" / "model" / "conv_vae.yaml").write_text(
        "_target_: vae_lightning.models.BetaVAE\nlatent_dim: 3\n")
    env = {**os.environ, "PYTHONPATH": str(site)}

    def cli(*arguments: str) -> str:
        result = subprocess.run([sys.executable, "-m", "vae_lightning.train", *arguments], cwd=project, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    where = subprocess.run([sys.executable, "-c", "import vae_lightning; print(vae_lightning.__file__)"],
                           cwd=project, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site))
    composed = cli("experiment=my_study", "--cfg", "job")
    assert "beta: 7.5" in composed  # the project's experiment is found
    assert "latent_dim: 3" in composed  # and its model config replaces the packaged one of the same name
    searchpath = cli("--info", "searchpath")
    assert searchpath.index(str(project / "conf")) < searchpath.index(str(site / "vae_lightning" / "conf"))
