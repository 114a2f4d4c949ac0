"""What the report writes for TensorBoard: the numbers against the swept value, the KL per dimension on one scale,
and an HParams table without constant columns."""

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.report_helpers import hparams_dashboard, make_run
from vae_lightning.analysis.plots import CARD_WIDTH_PX, card_image
from vae_lightning.reporting import hparams
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.axis_scalars import axis_steps, steps_description
from vae_lightning.reporting.collect import collect
from vae_lightning.reporting.kl_by_dimension import kl_heatmap, shared_top

BETA = SweepAxis("model.beta")


def _sweep(tmp_path):
    for beta, kl in ((16, 2.0), (1, 30.0), (4, 12.0)):
        make_run(tmp_path / f"model.beta={beta}", beta=beta, seed=0, kl=kl)
    return collect(tmp_path, BETA)


def test_each_swept_value_is_a_step_in_increasing_order_and_the_description_says_which():
    steps = axis_steps([16.0, 1.0, 4.0, 1.0, None])
    assert steps == {1.0: 0, 4.0: 1, 16.0: 2}
    assert steps_description(BETA, steps).endswith("(0 is β = 1, 1 is β = 4, 2 is β = 16).")


def test_constant_hyper_parameters_are_left_out_of_the_sessions_but_the_axis_stays():
    sessions = [{"beta": "1", "data": "fashion", "seed": "0"}, {"beta": "4", "data": "fashion", "seed": "1"}]
    assert hparams.varying_only(sessions, keep="beta") == [{"beta": "1", "seed": "0"}, {"beta": "4", "seed": "1"}]
    single = [{"beta": "4", "data": "fashion"}, {"beta": "4", "data": "mnist"}]
    assert hparams.varying_only(single, keep="beta") == single


def test_the_five_metrics_the_dashboard_shows_first_include_the_probe_and_monotonicity():
    assert {"linear_probe", "monotonicity", "neg_elbo", "kl"} <= set(hparams.METRICS[:5])


def test_sessions_place_each_run_at_its_beta_step_with_kl_charts_on_one_scale(tmp_path):
    sweep = _sweep(tmp_path)
    hparams.write_sessions(sweep, "report_hparams", exclude=[])
    sessions = hparams_dashboard(tmp_path)
    assert sessions["model.beta=4"]["hparams"] == {"beta": "4"}  # seed, latent size and dataset are constant
    assert sessions["model.beta=4"]["metrics"]["report/neg_elbo"] == 100.0
    for beta, step in ((1, 0), (4, 1), (16, 2)):
        events = EventAccumulator(str(tmp_path / f"model.beta={beta}"), size_guidance={"images": 0}).Reload()
        assert [event.step for event in events.Scalars("report/kl")] == [step]
        assert "2 is β = 16" in events.SummaryMetadata("report/kl").summary_description
        assert [image.step for image in events.Images("report/kl_per_dim")] == [step]
    assert shared_top(sweep.finished) == 1.05 * 30.0


def test_the_heatmap_has_one_row_per_run_in_increasing_beta_on_one_colour_scale(tmp_path):
    figure = kl_heatmap(_sweep(tmp_path).finished, BETA)
    (ax, _colorbar) = figure.axes
    assert [label.get_text() for label in ax.get_yticklabels()] == ["β = 1", "β = 4", "β = 16"]
    image = ax.get_images()[0]
    assert image.get_array()[:, 0].tolist() == [30.0, 12.0, 2.0] and image.get_clim() == (0.0, 30.0)
    assert card_image(figure).shape[-1] <= 1.6 * CARD_WIDTH_PX  # the colour bar survives the card's layout
