"""`python -m vae_lightning.report report.axis=...` on hand-made run folders: a γ sweep's files are named after γ, and
a sweep whose runs lack the axis is refused in one paragraph before anything is written."""

from pathlib import Path

from tests.conftest import run_cli
from tests.report_helpers import make_run_with_model, write_multirun_yaml


def test_a_gamma_sweep_reported_along_gamma_writes_its_files_by_gamma(tmp_path):
    sweep = tmp_path / "sweep"
    write_multirun_yaml(sweep, ["model=factor_vae", "model.gamma=10,40"])
    for gamma in (10, 40):
        make_run_with_model(sweep / f"model.gamma={gamma}", {"beta": 1.0, "gamma": gamma}, 0,
                            ["model=factor_vae", f"model.gamma={gamma}"], kl=20.0 - gamma / 4)
    result = run_cli("vae_lightning.report", f"sweep={sweep}", "report.axis=model.gamma", "analyze_missing=false",
                     "threads=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    written = {path.name for path in (sweep / "report").iterdir() if not path.name.startswith("events.")}
    assert written == {"runs.csv", "runs.md", "by_gamma.csv", "summary.md", "rate_distortion.png",
                       "metrics_vs_gamma.png", "kl_per_dim_by_gamma.png"}  # no checkpoints: no decoded pictures
    assert (sweep / "report" / "by_gamma.csv").read_text().startswith("setting,gamma,")
    assert (sweep / "report" / "summary.md").read_text().startswith(f"# γ-sweep report: `{sweep}`")


def test_a_sweep_without_the_axis_is_refused_in_one_paragraph_naming_the_key_it_varies(tmp_path: Path):
    sweep = tmp_path / "sweep"
    write_multirun_yaml(sweep, ["model.k=1,5"])
    for k in (1, 5):
        make_run_with_model(sweep / f"model.k={k}", {"k": k}, 0, [f"model.k={k}"])
    result = run_cli("vae_lightning.report", f"sweep={sweep}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip()
    assert error.startswith(f"Error: report.axis=model.beta, but run {sweep / 'model.k=1'} (and 1 other run) has no "
                            "model.beta in its saved config (.hydra/config.yaml)")
    assert error.endswith("report.axis=model.k (the numbers that vary across its runs: model.k).")
    assert "\n" not in error and not (sweep / "report").exists()
