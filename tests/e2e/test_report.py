"""`python -m vae_lightning.report`: a real β sweep with a failed and a killed point reported end to end, and a path
that is not a sweep refused."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import TINY_RUN, run_cli, tensorboard_runs
from tests.report_helpers import copy_run_as_beta, hparams_dashboard
from vae_lightning.analysis.plots import CARD_WIDTH_PX
from vae_lightning.reporting.axis import SweepAxis

BETA = SweepAxis("model.beta")

SMALL_ANALYSIS = (
    'analysis=["iwae.num_samples=5","iwae.num_images=20","traversal.num_base_images=1",'
    '"traversal.steps=5","traversal.grid_dims=3","interpolation.num_pairs=1","samples.count=4",'
    '"reconstructions.per_class=1"]'
)
# The file names README.md gives, in <sweep>/report/.
PICTURES = ("rate_distortion", "metrics_vs_beta", "kl_per_dim_by_beta", "traversals_by_beta", "samples_by_beta",
            "reconstructions_by_beta")
# (β, seed) of every row: the 2 × 2 sweep, plus a copy of a finished run given β = 8 whose checkpoints were deleted.
POINTS = [(0.5, 0), (0.5, 1), (4.0, 0), (4.0, 1), (8.0, 0)]
ANALYSED = [(0.5, 0), (4.0, 0)]
STATUSES = ["finished", "unfinished", "finished", "failed", "finished"]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _run_dir(sweep: Path, beta: float, seed: int) -> Path:
    return sweep / f"model.beta={beta:g},seed={seed}"


def _metrics(sweep: Path, beta: float, seed: int, analysis: bool = False) -> dict:
    return json.loads((_run_dir(sweep, beta, seed) / ("analysis" if analysis else "") / "metrics.json").read_text())


@pytest.fixture(scope="module")
def reported_sweep(tiny_data_root, tmp_path_factory):
    """A 2 β × 2 seed multirun on tiny data in which one point then failed, one was killed before its end, and a
    finished run's checkpoints were deleted; reported once (which analyses the runs that finished)."""
    cwd = tmp_path_factory.mktemp("report")
    sweep = cwd / "sweep"
    trained = run_cli(
        "vae_lightning.train",
        "-m",
        "model.beta=0.5,4",
        "seed=0,1",
        *TINY_RUN,
        f"data.root={tiny_data_root}",
        f"hydra.sweep.dir={sweep}",
        cwd=cwd,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    (sweep / "train_stdout.txt").write_text(trained.stdout)
    (_run_dir(sweep, 4, 1) / "metrics.json").unlink()
    (_run_dir(sweep, 4, 1) / "failure.json").write_text(
        json.dumps({"error": "The loss became NaN at step 3; lower optimizer.lr.", "error_type": "FloatingPointError"})
    )
    (_run_dir(sweep, 0.5, 1) / "metrics.json").unlink()
    copy_run_as_beta(_run_dir(sweep, 4, 0), _run_dir(sweep, 8, 0), beta=8.0)
    shutil.rmtree(_run_dir(sweep, 8, 0) / "checkpoints")
    result = run_cli("vae_lightning.report", f"sweep={sweep}", SMALL_ANALYSIS, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep, result


def test_table_has_one_row_per_run_sorted_by_beta_then_seed_with_its_status(reported_sweep):
    sweep, _ = reported_sweep
    rows = _read_csv(sweep / "report" / "runs.csv")
    assert [(float(row["beta"]), int(row["seed"])) for row in rows] == POINTS
    assert [row["status"] for row in rows] == STATUSES
    assert [row["run_dir"] for row in rows] == [_run_dir(sweep, beta, seed).name for beta, seed in POINTS]
    assert rows[3]["error"] == "FloatingPointError: The loss became NaN at step 3; lower optimizer.lr."
    assert rows[1]["neg_elbo"] == rows[1]["iwae"] == rows[3]["neg_elbo"] == ""
    markdown = (sweep / "report" / "runs.md").read_text().splitlines()
    assert len(markdown) == 2 + len(POINTS) and markdown[2].startswith("| 0.5 | 0 | finished |")


def test_finished_rows_carry_the_numbers_of_their_runs_metrics_and_analysis(reported_sweep):
    sweep, result = reported_sweep
    rows = {(float(row["beta"]), int(row["seed"])): row for row in _read_csv(sweep / "report" / "runs.csv")}
    for beta, seed in [*ANALYSED, (8.0, 0)]:
        row, metrics = rows[beta, seed], _metrics(sweep, beta, seed)
        assert [float(row[key]) for key in ("neg_elbo", "recon", "kl")] == [
            metrics["test"][key] for key in ("neg_elbo", "recon", "kl")
        ]
        assert float(row["fit_seconds"]) == metrics["fit_seconds"]
    for beta, seed in ANALYSED:
        row, analysis = rows[beta, seed], _metrics(sweep, beta, seed, analysis=True)
        assert float(row["iwae"]) == analysis["iwae"]["neg_log_likelihood"]
        assert int(row["active_units"]) == analysis["active_units"]["count"]
        assert float(row["linear_probe"]) == analysis["linear_probe"]["accuracy"]
        assert (analysis["iwae"]["num_images"], analysis["iwae"]["num_samples"]) == (20, 5)
        assert analysis["seed"] == seed
    assert "Analysing 1/3: model.beta=0.5,seed=0 …" in result.stdout
    assert "Analysing 3/3: model.beta=8,seed=0 …" in result.stdout
    assert not (_run_dir(sweep, 4, 1) / "analysis").exists()


def test_a_finished_run_whose_analysis_fails_keeps_its_row_and_says_why(reported_sweep):
    sweep, _ = reported_sweep
    row = _read_csv(sweep / "report" / "runs.csv")[4]
    assert row["status"] == "finished" and row["iwae"] == ""
    assert row["error"].startswith("analysis failed: ") and "checkpoints/best-*.ckpt" in row["error"]
    summary = (sweep / "report" / "summary.md").read_text()
    assert "## Runs without analysis" in summary and "## Left out of the pictures" in summary


def test_plots_use_the_finished_runs_only(reported_sweep):
    sweep, _ = reported_sweep
    per_beta = _read_csv(sweep / "report" / "by_beta.csv")
    assert [(float(row["beta"]), int(row["kl_count"]), float(row["kl_std"])) for row in per_beta] == [
        (0.5, 1, 0.0),
        (4.0, 1, 0.0),
        (8.0, 1, 0.0),
    ]
    assert [float(row["kl_mean"]) for row in per_beta] == [_metrics(sweep, b, 0)["test"]["kl"] for b in (0.5, 4, 8)]
    assert [row["iwae_count"] for row in per_beta] == ["1", "1", "0"]


def test_pictures_are_written_and_logged_to_the_reports_tensorboard(reported_sweep):
    sweep, _ = reported_sweep
    for name in PICTURES:
        with Image.open(sweep / "report" / f"{name}.png") as image:
            assert image.width > 200 and image.height > 100
    events = EventAccumulator(str(sweep / "report"), size_guidance={"images": 0}).Reload()
    assert set(events.Tags()["images"]) == {f"report/{name}" for name in PICTURES}
    # Drawn for TensorBoard's image card, so their labels are not shrunk to a few pixels there.
    assert all(events.Images(f"report/{name}")[-1].width <= 1.6 * CARD_WIDTH_PX for name in PICTURES)
    assert "report/summary/text_summary" in events.Tags()["tensors"]
    # The numbers against β: one point per β at its index (0.5, 4, 8 at steps 0, 1, 2), the mean over seeds.
    kl = {event.step: event.value for event in events.Scalars("report/kl")}
    assert kl == pytest.approx({step: _metrics(sweep, beta, 0)["test"]["kl"] for step, beta in enumerate((0.5, 4, 8))})


def test_hparams_dashboard_lists_each_finished_run_with_beta_and_its_metrics(reported_sweep):
    sweep, _ = reported_sweep
    sessions = hparams_dashboard(sweep)
    finished = [point for point, status in zip(POINTS, STATUSES, strict=True) if status == "finished"]
    names = {point: _run_dir(sweep, *point).name for point in finished}  # the trial ids: the swept values
    assert set(sessions) == set(names.values())
    # Each session sits beside its run's training events: no extra TensorBoard run per point.
    assert all(len(list(_run_dir(sweep, *point).glob("*.report_hparams"))) == 1 for point in finished)
    trained = {_run_dir(sweep, *point).name for point in POINTS}
    assert tensorboard_runs(sweep) == {*trained, "report"}
    for (beta, seed), name in names.items():
        session, metrics = sessions[name], _metrics(sweep, beta, seed)
        # As on the command line: the dashboard would print the number 4 as 4.0000. The finished runs share their
        # seed, latent size, dataset and epochs: constant columns are left out.
        assert session["hparams"] == {"beta": f"{beta:g}"}
        assert session["metrics"]["report/neg_elbo"] == pytest.approx(metrics["test"]["neg_elbo"])
    analysed, analysis = sessions[names[ANALYSED[0]]]["metrics"], _metrics(sweep, *ANALYSED[0], analysis=True)
    assert analysed["report/iwae"] == pytest.approx(analysis["iwae"]["neg_log_likelihood"])
    assert analysed["report/linear_probe"] == pytest.approx(analysis["linear_probe"]["accuracy"])


def test_summary_reads_the_numbers_and_lists_what_did_not_finish(reported_sweep):
    sweep, result = reported_sweep
    summary = (sweep / "report" / "summary.md").read_text()
    assert "5 points: 3 finished, 1 failed, 1 unfinished, 0 missing." in summary
    assert "Lowest test negative ELBO: β = " in summary and "From β = 0.5 to β = 8: the KL (rate)" in summary
    assert "**failed** (`model.beta=4,seed=1`): FloatingPointError: The loss became NaN" in summary
    assert "**unfinished** (`model.beta=0.5,seed=1`): killed or still running" in summary
    assert "β-sweep of 5 points (3 finished, 1 failed, 1 unfinished, 0 missing):" in result.stdout
    assert "2 point(s) did not finish (summary.md says why)" in result.stdout
    assert "**" not in result.stdout and "|---" not in result.stdout  # the Markdown stays in summary.md


def test_rerun_command_is_the_original_sweep_into_the_same_folder(reported_sweep):
    sweep, result = reported_sweep
    command = next(line for line in result.stdout.splitlines() if line.startswith("python -m vae_lightning.train"))
    assert command.startswith(f"python -m vae_lightning.train -m hydra.sweep.dir={sweep} ")
    assert "model.beta=0.5,4 seed=0,1" in command and "hydra.mode" not in command and "exclude_keys" not in command


def test_the_sweep_ends_by_printing_its_directory_and_the_report_command(reported_sweep):
    sweep, _ = reported_sweep
    trained = (sweep / "train_stdout.txt").read_text()
    assert f"Sweep directory: {sweep}" in trained
    assert f"python -m vae_lightning.report sweep={sweep}" in trained


def test_the_report_says_what_it_reuses_what_it_computes_and_how_long(reported_sweep):
    _, result = reported_sweep
    assert "Reusing the existing analyses" not in result.stdout  # the first report analyses every finished run
    plan = next(line for line in result.stdout.splitlines() if line.startswith("Analysing 3 run(s)"))
    assert "IWAE bound with K = 5 samples on 20 test image(s)" in plan and "analyze_missing=false" in plan


def test_a_second_report_reuses_the_analyses(reported_sweep):
    sweep, _ = reported_sweep
    again = run_cli("vae_lightning.report", f"sweep={sweep}", "analyze_missing=true", cwd=sweep.parent)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Reusing the existing analyses of 2 run(s)" in again.stdout  # the third one's checkpoints were deleted


def test_a_single_run_is_refused_with_its_sweep_and_the_analyze_command(reported_sweep):
    sweep, _ = reported_sweep
    run = _run_dir(sweep, 4, 0)
    result = run_cli("vae_lightning.report", f"sweep={run}", cwd=sweep.parent)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is a single run of vae_lightning.train, not a sweep" in result.stderr
    assert f"sweep={sweep}" in result.stderr and "python -m vae_lightning.analyze run=" in result.stderr
    assert not (run / "report").exists()


def test_a_sweep_path_that_does_not_exist_is_one_clear_error(tmp_path):
    result = run_cli("vae_lightning.report", f"sweep={tmp_path / 'no_such_sweep'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"sweep={tmp_path / 'no_such_sweep'} does not exist" in result.stderr and "multirun.yaml" in result.stderr
