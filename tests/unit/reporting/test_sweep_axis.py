"""`report.axis`: a sweep reported along any config key (FactorVAE's γ, IWAE's K), a run without that key refused in one
paragraph, and β, the default, reported exactly as before."""

import csv
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from tests.report_helpers import make_run, make_run_with_model, write_multirun_yaml
from vae_lightning.errors import ConfigError
from vae_lightning.reporting.aggregate import write_by_axis_csv
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import collect
from vae_lightning.reporting.figures import metrics_vs_axis, rate_distortion
from vae_lightning.reporting.hparams import run_hparams
from vae_lightning.reporting.sweep_summary import render_sweep_summary
from vae_lightning.reporting.table import markdown_table, table_rows, write_csv

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
GAMMA = SweepAxis("model.gamma")
# The first lines of a β sweep's runs.csv, runs.md and by_beta.csv as the report wrote them before report.axis existed
# (with the sample-quality columns added since, empty in runs.csv and left out of runs.md without values).
BETA_RUNS_CSV = (
    "setting,beta,seed,status,neg_elbo,recon,kl,iwae,active_units,linear_probe,mig,dci_disentanglement,"
    "dci_completeness,dci_informativeness,sap,factor_vae_score,beta_vae_score,fid,fid_bootstrap_std,precision,recall,"
    "monotonicity,step_change,fit_seconds,run_dir,error"
)
BETA_RUNS_MD = ("| β | seed | status | −ELBO | recon | KL | IWAE | active units | linear probe | monotonicity | "
                "step change | fit s | run dir |")
BETA_BY_BETA_CSV = "setting,beta,neg_elbo_mean,neg_elbo_std,neg_elbo_count,recon_mean,recon_std,recon_count"


@pytest.fixture
def gamma_sweep(tmp_path: Path) -> Path:
    """FactorVAE at γ = 10 and 40 over seeds 0 and 1 (β left at 1); the point γ = 40, seed 1 never started."""
    write_multirun_yaml(tmp_path, ["model=factor_vae", "model.gamma=10,40", "seed=0,1"])
    for gamma, seed in ((10, 0), (10, 1), (40, 0)):
        make_run_with_model(tmp_path / f"model.gamma={gamma},seed={seed}", {"beta": 1.0, "gamma": gamma}, seed,
                            ["model=factor_vae", f"model.gamma={gamma}", f"seed={seed}"],
                            neg_elbo=100.0 + gamma / 10 + seed, kl=20.0 - gamma / 4)
    return tmp_path


@pytest.fixture
def k_sweep(tmp_path: Path) -> Path:
    """An IWAE-like model, which has K and no β, at K = 1, 5 and 50, in a folder without multirun.yaml."""
    for k in (1, 5, 50):
        make_run_with_model(tmp_path / f"model.k={k}", {"k": k}, 0, [f"model.k={k}", "seed=0"],
                            neg_elbo=100.0 - k / 10)
    return tmp_path


def test_a_gamma_sweep_is_tabulated_along_gamma_with_its_missing_point_placed_by_its_override(gamma_sweep):
    rows = table_rows(collect(gamma_sweep, GAMMA))
    assert [(row["axis_value"], row["seed"], row["status"]) for row in rows] == [
        (10, 0, "finished"), (10, 1, "finished"), (40, 0, "finished"), (40.0, 1, "missing")]
    assert {row["setting"] for row in rows} == {""}  # γ is the axis, not a setting of its own


def test_a_gamma_sweep_names_its_columns_gamma_in_the_csvs_and_its_header_in_the_table(gamma_sweep, tmp_path):
    rows = table_rows(collect(gamma_sweep, GAMMA))
    runs_csv = write_csv(rows, tmp_path / "runs.csv", GAMMA).read_text().splitlines()
    assert runs_csv[0].startswith("setting,gamma,seed,status,neg_elbo,") and ",beta," not in runs_csv[0]
    with write_by_axis_csv(rows, tmp_path / "by_gamma.csv", GAMMA).open(newline="") as handle:
        by_gamma = list(csv.DictReader(handle))
    assert [(row["gamma"], row["neg_elbo_mean"], row["neg_elbo_count"]) for row in by_gamma] == [
        ("10", "101.5", "2"), ("40", "104.0", "1")]
    assert markdown_table(rows, GAMMA).startswith("| γ | seed | status |")


def test_a_gamma_sweeps_figures_are_drawn_against_gamma(gamma_sweep):
    rows = table_rows(collect(gamma_sweep, GAMMA))
    figure = metrics_vs_axis(rows, GAMMA, {})
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert figure.get_suptitle() == "Test metrics against γ: mean over seeds ± std"
    assert {ax.get_xlabel() for ax in panels} == {"γ"} and {ax.get_xscale() for ax in panels} == {"log"}
    trade_off = rate_distortion(rows, GAMMA).axes[0]
    assert [text.get_text() for text in trade_off.texts] == ["γ = 10", "γ = 40"]


def test_an_axis_that_starts_at_zero_is_drawn_on_a_linear_scale(tmp_path):
    for gamma in (0, 10):
        make_run_with_model(tmp_path / f"g{gamma}", {"gamma": gamma}, 0, [f"model.gamma={gamma}"])
    figure = metrics_vs_axis(table_rows(collect(tmp_path, GAMMA)), GAMMA, {})
    assert {ax.get_xscale() for ax in figure.axes if ax.get_visible()} == {"linear"}


def test_a_gamma_sweeps_summary_reads_gamma_and_never_beta(gamma_sweep):
    sweep = collect(gamma_sweep, GAMMA)
    summary = render_sweep_summary(sweep, table_rows(sweep))
    assert summary.startswith(f"# γ-sweep report: `{gamma_sweep}`")
    assert "- Lowest test negative ELBO: γ = 10 (mean ± sd of 2 seeds): 101.50 ± 0.71 nats/image." in summary
    assert "- From γ = 10 to γ = 40: the KL (rate) from 17.50 to 10.00 nats/image" in summary
    assert "per-γ numbers are means over the finished seeds" in summary
    assert "- γ = 40, seed 1: **missing** (no run folder): never started" in summary
    assert "β" not in summary


def test_a_gamma_sweeps_hparams_sessions_name_gamma_and_leave_the_unswept_beta_out(gamma_sweep):
    run = next(run for run in collect(gamma_sweep, GAMMA).runs if run.path.name == "model.gamma=40,seed=0")
    assert run_hparams(run, GAMMA, exclude=[]) == {
        "gamma": "40", "seed": "0", "latent_dim": "4", "dataset": "fashion", "model": "factor_vae"}


def test_a_k_sweep_of_a_model_without_beta_is_reported_along_k(k_sweep, tmp_path):
    axis = SweepAxis("model.k")
    rows = table_rows(collect(k_sweep, axis))
    assert [row["axis_value"] for row in rows] == [1, 5, 50]
    assert markdown_table(rows, axis).startswith("| K | seed |")
    assert write_csv(rows, tmp_path / "runs.csv", axis).read_text().startswith("setting,k,seed,")


def test_a_run_without_the_axis_key_is_refused_naming_it_the_key_and_the_key_that_varies(k_sweep):
    with pytest.raises(ConfigError) as refused:
        collect(k_sweep, SweepAxis("model.beta"))
    message = str(refused.value)
    assert message.startswith(
        f"report.axis=model.beta, but run {k_sweep / 'model.k=1'} (and 2 other runs) has no model.beta in its saved "
        "config (.hydra/config.yaml)")
    assert message.endswith("Pass the key the sweep varies: report.axis=model.k (the numbers that vary across its "
                            "runs: model.k).")
    assert "\n" not in message


def test_a_folder_mixing_models_without_a_common_number_is_refused_without_a_suggestion(tmp_path):
    make_run_with_model(tmp_path / "factor", {"gamma": 40}, 0, ["model=factor_vae", "model.gamma=40"])
    make_run_with_model(tmp_path / "vae", {"beta": 4}, 0, ["model=conv_vae", "model.beta=4"])
    with pytest.raises(ConfigError, match=r"run \S+/vae has no model.gamma .* No other number varies across its "
                                          r"runs: pass report.axis=<the config key the sweep varied>\."):
        collect(tmp_path, GAMMA)


def test_an_axis_whose_values_are_not_numbers_is_refused_with_the_value(tmp_path):
    for beta in (1, 4):
        make_run(tmp_path / f"b{beta}", beta=beta, seed=0)
    with pytest.raises(ConfigError, match=r"has data.name='fashion', not a number, in its saved config .* "
                                          r"report.axis=model.beta \("):
        collect(tmp_path, SweepAxis("data.name"))


def test_the_seed_cannot_be_the_axis():
    with pytest.raises(ConfigError, match="report.axis=seed is not allowed: the report averages every point over"):
        SweepAxis("seed")


def test_the_default_axis_is_beta_and_reports_it_as_before(tmp_path):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        axis = SweepAxis(compose("report", overrides=[f"sweep={tmp_path}"]).report.axis)
    assert (axis.key, axis.name, axis.label) == ("model.beta", "beta", "β")
    for beta, neg_elbo in ((1, 100.0), (4, 90.0)):
        make_run(tmp_path / f"model.beta={beta}", beta=beta, seed=0, neg_elbo=neg_elbo, kl=10.0 + beta)
    sweep = collect(tmp_path, axis)
    rows = table_rows(sweep)
    assert write_csv(rows, tmp_path / "runs.csv", axis).read_text().splitlines()[0] == BETA_RUNS_CSV
    assert markdown_table(rows, axis).splitlines()[0] == BETA_RUNS_MD
    assert write_by_axis_csv(rows, tmp_path / "by_beta.csv", axis).read_text().startswith(BETA_BY_BETA_CSV)
    summary = render_sweep_summary(sweep, rows)
    assert summary.startswith(f"# β-sweep report: `{tmp_path}`")
    assert "- From β = 1 to β = 4: the KL (rate) from 11.00 to 14.00 nats/image" in summary
    assert "per-β numbers are means over the finished seeds" in summary
    assert run_hparams(sweep.runs[0], axis, exclude=[])["beta"] == "1"
