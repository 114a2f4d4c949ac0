"""The report's collection, table, figures, summary and HParams sessions, on hand-made run folders."""

import json
import math
import statistics

import pytest

from tests.report_helpers import hparams_dashboard, make_run, write_multirun_yaml
from vae_lightning.models.likelihoods import describe, make_likelihood
from vae_lightning.reporting import hparams
from vae_lightning.reporting.aggregate import by_axis
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import SweepError, collect
from vae_lightning.reporting.figures import metrics_vs_axis
from vae_lightning.reporting.sweep_points import SweepOverrides, expand_points, rerun_sweep_command
from vae_lightning.reporting.sweep_summary import render_sweep_digest, render_sweep_summary
from vae_lightning.reporting.table import active_smoothness, markdown_table, table_rows

BETA = SweepAxis("model.beta")


def test_whole_numbers_in_the_summary_are_integers_and_an_unchanged_column_says_so(tmp_path):
    analysis = {"active_units": {"count": 4}}
    make_run(tmp_path / "a", beta=1, seed=0, analysis=analysis)
    make_run(tmp_path / "b", beta=4, seed=0, neg_elbo=90.0, kl=20.0, analysis=analysis)
    summary = render_sweep_summary(collect(tmp_path, BETA), table_rows(collect(tmp_path, BETA)))
    assert "active units unchanged at 4." in summary and "from 4.0" not in summary


def test_the_active_units_axis_has_whole_number_ticks(tmp_path):
    for name, beta, count in (("a", 1, 3), ("b", 2, 4), ("c", 4, 5)):
        make_run(tmp_path / name, beta=beta, seed=0, analysis={"active_units": {"count": count}})
    figure = metrics_vs_axis(table_rows(collect(tmp_path, BETA)), BETA, {})
    figure.canvas.draw()
    axes = next(ax for ax in figure.axes if ax.get_title() == "active units")
    ticks = [tick for tick in axes.get_yticks() if axes.get_ylim()[0] <= tick <= axes.get_ylim()[1]]
    assert ticks and all(float(tick).is_integer() for tick in ticks)


def test_metrics_against_beta_for_a_card_are_one_column_of_panels(tmp_path):
    for name, beta in (("a", 1), ("b", 4)):
        make_run(tmp_path / name, beta=beta, seed=0)
    figure = metrics_vs_axis(table_rows(collect(tmp_path, BETA)), BETA, {}, columns=1)
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert len(panels) > 3 and len({ax.get_subplotspec().colspan.start for ax in panels}) == 1


def test_settings_share_one_legend_below_the_panels_and_no_empty_panel_shows(tmp_path):
    write_multirun_yaml(tmp_path, ["model.beta=1,4", "model=conv_vae,beta_tcvae"])
    for model in ("conv_vae", "beta_tcvae"):
        for beta in (1, 4):
            overrides = [f"model.beta={beta}", f"model={model}"]
            make_run(tmp_path / f"{model},{beta}", beta=beta, seed=0, overrides=overrides)
    figure = metrics_vs_axis(table_rows(collect(tmp_path, BETA)), BETA, {}, columns=3)
    assert [text.get_text() for text in figure.legends[0].get_texts()] == ["model=beta_tcvae", "model=conv_vae"]
    assert len(figure.legends) == 1 and not [ax for ax in figure.axes if ax.get_legend() is not None]
    assert all(ax.get_title() for ax in figure.axes if ax.get_visible())


def test_a_folder_without_runs_is_refused_with_what_is_expected(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(SweepError, match="holds no runs: none of its sub-folders has a .hydra/config.yaml"):
        collect(tmp_path, BETA)


def test_status_comes_from_metrics_json_then_failure_json_else_unfinished(tmp_path):
    make_run(tmp_path / "a", beta=1, seed=0, status="finished")
    make_run(tmp_path / "b", beta=2, seed=0, status="failed")
    make_run(tmp_path / "c", beta=4, seed=0, status="unfinished")
    runs = {run.path.name: run for run in collect(tmp_path, BETA).runs}
    assert {name: run.status for name, run in runs.items()} == {"a": "finished", "b": "failed", "c": "unfinished"}
    assert runs["b"].error == "FloatingPointError: the loss became NaN at step 3"


def test_missing_points_are_matched_by_value_not_by_folder_name(tmp_path):
    write_multirun_yaml(tmp_path, ["model.beta=0.5,4", "seed=range(2)", "trainer.max_epochs=2"])
    make_run(tmp_path / "0", beta=0.5, seed=0, overrides=["model.beta=0.5", "seed=0", "trainer.max_epochs=2"])
    make_run(tmp_path / "1", beta=4.0, seed=1, overrides=["model.beta=4.0", "seed=1", "trainer.max_epochs=2"])
    sweep = collect(tmp_path, BETA)
    missing = sorted((run.axis_value, run.seed, run.overrides[0]) for run in sweep.runs if run.status == "missing")
    assert missing == [(0.5, 1, "model.beta=0.5"), (4.0, 0, "model.beta=4")]
    assert sweep.rerun_command.startswith(f"python -m vae_lightning.train -m hydra.sweep.dir={tmp_path} ")
    summary = render_sweep_summary(sweep, table_rows(sweep))
    assert "- β = 4, seed 0: **missing** (no run folder): never started" in summary


def test_a_sweep_that_cannot_be_enumerated_lists_no_missing_points(tmp_path):
    write_multirun_yaml(tmp_path, ["model.beta=interval(0.5,4)"])
    make_run(tmp_path / "0", beta=1.0, seed=0)
    sweep = collect(tmp_path, BETA)
    assert [run.status for run in sweep.runs] == ["finished"] and not sweep.points_known
    assert expand_points(["model.beta=interval(0.5,4)"]) is None


def test_sweep_points_expand_like_hydras_basic_sweeper():
    assert expand_points(["model.beta=0.5,2", "seed=range(2)", "data=fashion"]) == [
        ["model.beta=0.5", "seed=0", "data=fashion"],
        ["model.beta=0.5", "seed=1", "data=fashion"],
        ["model.beta=2", "seed=0", "data=fashion"],
        ["model.beta=2", "seed=1", "data=fashion"],
    ]


def test_rerun_command_keeps_layout_overrides_and_quotes_for_the_shell(tmp_path):
    sweep_dir = tmp_path / "a b,c"
    overrides = SweepOverrides(
        hydra=[
            f"hydra.sweep.dir={sweep_dir}",
            "hydra.mode=MULTIRUN",
            "hydra.sweep.subdir=x",
            "hydra.job.config.override_dirname.exclude_keys=[seed]",
        ],
        task=["model.beta=0.5,4", "model.channels=[4,8]"],
    )
    command = rerun_sweep_command(sweep_dir, overrides)
    assert command == (
        f"python -m vae_lightning.train -m 'hydra.sweep.dir='\"'\"'{sweep_dir}'\"'\"'' "
        "hydra.sweep.subdir=x model.beta=0.5,4 'model.channels=[4,8]'"
    )


def test_a_single_run_folder_gives_a_one_row_report(tmp_path):
    run_dir = make_run(tmp_path / "run", beta=2, seed=3, status="failed")
    sweep = collect(run_dir, BETA)
    rows = table_rows(sweep)
    assert [(row["axis_value"], row["seed"], row["status"], row["run_dir"]) for row in rows] == [(2, 3, "failed", ".")]
    assert sweep.rerun_command == f"python -m vae_lightning.train hydra.run.dir={run_dir} model.beta=2 seed=3"


def test_rows_sort_by_beta_then_seed_and_aggregate_only_finished_runs(tmp_path):
    for name, beta, seed, status, neg_elbo in [
        ("a", 4, 1, "finished", 90.0),
        ("b", 0.5, 0, "finished", 100.0),
        ("c", 4, 0, "finished", 80.0),
        ("d", 0.5, 1, "failed", 0.0),
        ("e", 0.5, 2, "finished", 110.0),
    ]:
        make_run(tmp_path / name, beta=beta, seed=seed, status=status, neg_elbo=neg_elbo)
    rows = table_rows(collect(tmp_path, BETA))
    assert [(row["axis_value"], row["seed"]) for row in rows] == [(0.5, 0), (0.5, 1), (0.5, 2), (4, 0), (4, 1)]
    spreads = by_axis(rows, "neg_elbo")
    assert spreads[0.5] == (105.0, pytest.approx(statistics.stdev([100.0, 110.0])), 2)
    assert spreads[4] == (85.0, pytest.approx(statistics.stdev([80.0, 90.0])), 2)
    markdown = markdown_table(rows, BETA).splitlines()
    assert markdown[3] == "| 0.5 | 1 | failed |  |  |  |  |  |  |  |  |  | d |"


def test_smoothness_is_averaged_over_the_active_traversed_dims_only():
    per_dim = [
        {"active": True, "monotonicity": 0.9, "mean_step_change": 0.02},
        {"active": True, "monotonicity": 0.7, "mean_step_change": 0.04},
        {"active": False, "monotonicity": 0.0, "mean_step_change": 0.0},
    ]
    assert active_smoothness({"traversal": {"per_dim": per_dim}}) == (pytest.approx(0.8), pytest.approx(0.03))
    assert active_smoothness({"traversal": {"per_dim": per_dim[2:]}}) == (None, None)
    assert active_smoothness(None) == (None, None)


def test_summary_reads_trends_and_says_how_to_fill_missing_analysis(tmp_path):
    analysis = {"iwae": {"neg_log_likelihood": 95.0}, "active_units": {"count": 3}}
    make_run(tmp_path / "a", beta=1, seed=0, analysis=analysis)
    make_run(tmp_path / "b", beta=2, seed=0, analysis={**analysis, "active_units": {"count": 1}})
    make_run(tmp_path / "c", beta=4, seed=0, neg_elbo=90.0, kl=20.0)
    sweep = collect(tmp_path, BETA)
    summary = render_sweep_summary(sweep, table_rows(sweep))
    assert "Lowest test negative ELBO: β = 4 (mean of 1 seed): 90.00 nats/image." in summary
    assert (
        "From β = 1 to β = 4: the KL (rate) from 10.00 to 20.00 nats/image, reconstruction from 90.00 to "
        "70.00 nats/image and active units from 3 (β = 1) to 1 (β = 2)." in summary
    )
    assert "1 finished run(s) have no analysis/metrics.json" in summary
    assert f"python -m vae_lightning.report sweep={tmp_path} analyze_missing=true" in summary


def test_hparams_session_is_replaced_not_duplicated_when_reported_again(tmp_path):
    log_dir = tmp_path / "run"
    row = {name: 1.0 for name in hparams.METRICS}
    for neg_elbo in (5.0, 7.0):
        hparams.write_session(log_dir, {"beta": "4", "seed": "0"}, {**row, "neg_elbo": neg_elbo},
                              {"beta": ["0.5", "4"]}, trial="model.beta=4,seed=0", file_suffix="report_hparams")
    assert len(list(log_dir.iterdir())) == 1
    session = hparams_dashboard(tmp_path)["model.beta=4,seed=0"]
    assert session["hparams"] == {"beta": "4", "seed": "0"} and session["metrics"]["report/neg_elbo"] == 7.0


def test_hparams_filters_list_swept_numbers_in_numeric_order():
    sessions = [{"beta": "16", "note": "b"}, {"beta": "4", "note": "a"}, {"beta": "0.5", "note": "c"}]
    assert hparams.discrete_domains(sessions) == {"beta": ["0.5", "4", "16"], "note": ["a", "b", "c"]}


def test_summary_gives_mean_and_sd_over_seeds_and_names_a_reconstruction_loss(tmp_path):
    for seed, neg_elbo in enumerate((90.0, 94.0)):
        run = make_run(tmp_path / f"s{seed}", beta=4, seed=seed, neg_elbo=neg_elbo)
        metrics = json.loads((run / "metrics.json").read_text())
        metrics["likelihood"] = describe(make_likelihood("bernoulli"), data_is_binary=False)
        (run / "metrics.json").write_text(json.dumps(metrics))
    sweep = collect(tmp_path, BETA)
    summary = render_sweep_summary(sweep, table_rows(sweep))
    assert f"Lowest test negative ELBO: β = 4 (mean ± sd of 2 seeds): 92.00 ± {math.sqrt(8):.2f} nats/image." in summary
    assert "reconstruction loss, not a likelihood" in summary


def test_sweeps_of_several_commands_in_one_folder_are_told_apart_by_what_differs(tmp_path):
    """One sweep folder, one command per model (multirun.yaml keeps the last): each model is its own setting."""
    write_multirun_yaml(tmp_path, ["model=factor_vae", "model.gamma=40", "seed=0,1"])
    for seed in (0, 1):
        for name, model in (("vae", "conv_vae"), ("tc", "beta_tcvae")):
            make_run(tmp_path / f"{name},{seed}", beta=4, seed=seed,
                     overrides=[f"model={model}", "model.beta=4", f"seed={seed}"])
        make_run(tmp_path / f"factor,{seed}", beta=1, seed=seed,
                 overrides=["model=factor_vae", "model.gamma=40", f"seed={seed}", f"threads={seed + 1}"])
    settings = {run.path.name: run.setting for run in collect(tmp_path, BETA).runs}
    assert settings == {"vae,0": "model=conv_vae", "vae,1": "model=conv_vae", "tc,0": "model=beta_tcvae",
                        "tc,1": "model=beta_tcvae", "factor,0": "model=factor_vae model.gamma=40",
                        "factor,1": "model=factor_vae model.gamma=40"}


def test_the_console_digest_is_plain_text_with_the_findings_and_where_the_files_are(tmp_path):
    make_run(tmp_path / "a", beta=1, seed=0, analysis={"iwae": {"neg_log_likelihood": 95.0}})
    make_run(tmp_path / "b", beta=4, seed=0, neg_elbo=90.0, kl=20.0)
    sweep = collect(tmp_path, BETA)
    digest = render_sweep_digest(sweep, table_rows(sweep), {}, tmp_path / "report")
    lines = digest.splitlines()
    assert lines[0] == "β-sweep of 2 points (2 finished, 0 failed, 0 unfinished, 0 missing):"
    assert "  Lowest test negative ELBO: β = 4 (mean of 1 seed): 90.00 nats/image." in lines
    assert lines[-1].startswith(f"Table, plots, pictures and summary.md: {tmp_path / 'report'}; TensorBoard: ")
    assert not any(mark in digest for mark in ("**", "|", "`", "#")) and len(lines) <= 8
