"""The report's sample-quality columns and its FID-against-β panel beside the rate–distortion curve."""

import pytest

from tests.report_helpers import make_run
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import collect
from vae_lightning.reporting.figures import metrics_vs_axis, rate_distortion
from vae_lightning.reporting.table import markdown_table, table_rows

BETA = SweepAxis("model.beta")


def sample_quality(fid: float, bootstrap_std: float = 0.5) -> dict:
    return {"sample_quality": {"fid": fid, "fid_bootstrap_std": bootstrap_std, "precision": 0.7, "recall": 0.4}}


def fid_error_bars(figure) -> dict[float, tuple[float, float]]:
    """(FID, half-height of its error bar) at each β of the figure's FID panel."""
    panel = figure.axes[1]
    container = panel.containers[0]
    xs, ys = container.lines[0].get_data()
    halves = [(segment[1][1] - segment[0][1]) / 2 for segment in container.lines[2][0].get_segments()]
    return {float(x): (float(y), pytest.approx(half)) for x, y, half in zip(xs, ys, halves, strict=True)}


def test_fid_precision_and_recall_are_columns_of_the_table(tmp_path):
    make_run(tmp_path / "a", beta=1, seed=0, analysis=sample_quality(12.5))
    rows = table_rows(collect(tmp_path, BETA))
    assert (rows[0]["fid"], rows[0]["fid_bootstrap_std"], rows[0]["precision"], rows[0]["recall"]) == (
        12.5, 0.5, 0.7, 0.4)
    assert "| FID | FID ± (bootstrap) | precision | recall |" in markdown_table(rows, BETA)


def test_analyses_without_sample_quality_leave_its_columns_and_panels_out(tmp_path):
    make_run(tmp_path / "a", beta=1, seed=0, analysis={"active_units": {"count": 2}})
    rows = table_rows(collect(tmp_path, BETA))
    assert "FID" not in markdown_table(rows, BETA)
    assert "FID on the data's feature network" not in {ax.get_title() for ax in metrics_vs_axis(rows, BETA, {}).axes}
    assert [text.get_text() for text in rate_distortion(rows, BETA).axes[1].texts] == [
        "no FID: analyses without sample quality"]


def test_fid_is_plotted_against_beta_beside_the_rate_distortion_curve(tmp_path):
    for name, beta, seed, fid in (("a", 1, 0, 10.0), ("b", 1, 1, 14.0), ("c", 4, 0, 30.0)):
        make_run(tmp_path / name, beta=beta, seed=seed, analysis=sample_quality(fid, bootstrap_std=0.5))
    figure = rate_distortion(table_rows(collect(tmp_path, BETA)), BETA)
    assert figure.axes[0].get_xlabel() == "KL, the rate (nats/image)" and figure.axes[1].get_xlabel() == "β"
    # Two seeds at β = 1: their standard deviation; one seed at β = 4: that run's bootstrap standard deviation.
    assert fid_error_bars(figure) == {1.0: (12.0, pytest.approx(2 ** 1.5)), 4.0: (30.0, pytest.approx(0.5))}
