"""Plots of the sweep's numbers against its axis (β, or any `report.axis`): the rate–distortion curve beside FID, and
one panel per metric.

Each point is the mean over an axis value's finished seeds, with the seeds' standard deviation as error bars; each
setting (the other swept values, e.g. data.labeled_fraction) is its own line.
"""

import textwrap
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vae_lightning.analysis.factor_scores import HEADLINES
from vae_lightning.reporting.aggregate import Spread, by_axis, settings
from vae_lightning.reporting.axis import SweepAxis

PANELS = {
    "neg_elbo": "negative ELBO (nats/image)",
    "recon": "reconstruction −log p(x|z) (nats/image)",
    "kl": "KL, the rate (nats/image)",
    "iwae": "IWAE bound on −log p(x) (nats/image)",
    "active_units": "active units",
    "linear_probe": "linear probe accuracy",
    **{column: label for column, (_, _, label) in HEADLINES.items()},
    "fid": "FID on the data's feature network",
    "precision": "precision (k-NN manifolds)",
    "recall": "recall (k-NN manifolds)",
    "monotonicity": "traversal monotonicity (active dims)",
    "step_change": "traversal step change (active dims)",
}

# Panels whose values are counts, drawn with whole-number ticks.
COUNTS = ("active_units",)
# Panels drawn only when some run has a value: disentanglement needs known factors, sample quality an analysis that
# measured it.
OPTIONAL_PANELS = (*HEADLINES, "fid", "precision", "recall")


def rate_distortion(rows: list[dict[str, Any]], axis: SweepAxis) -> Figure:
    """KL (x) against reconstruction (y), one point per axis value, labelled `β = 4`: where each sits on the
    trade-off; beside it FID against the axis, the price of that trade in samples (higher β, blurrier samples)."""
    figure = Figure(figsize=(13, 5), layout="constrained")
    ax, fid_ax = figure.subplots(1, 2)
    _fid_panel(fid_ax, rows, axis)
    for setting in settings(rows):
        kl, recon = by_axis(rows, "kl", setting), by_axis(rows, "recon", setting)
        points = [point for point in kl if point in recon]
        ax.errorbar(
            [kl[p].mean for p in points],
            [recon[p].mean for p in points],
            xerr=[kl[p].std for p in points],
            yerr=[recon[p].std for p in points],
            fmt="o-",
            capsize=3,
            label=setting or None,
        )
        for point in points:
            ax.annotate(f"{axis.label} = {point:g}", (kl[point].mean, recon[point].mean), textcoords="offset points",
                        xytext=(6, 6))
    _legend_if_settings(ax, rows)
    ax.set_xlabel(PANELS["kl"])
    ax.set_ylabel(PANELS["recon"])
    ax.set_title("Rate–distortion: mean over seeds ± std")
    return figure


def metrics_vs_axis(rows: list[dict[str, Any]], axis: SweepAxis, model_terms: dict[str, str],
                    columns: int = 4) -> Figure:
    """One panel per metric against the axis, then one per term of the models' own objectives (`model_terms`, name →
    description), in rows of `columns` panels (one for a TensorBoard card); a panel without values says so (no
    analysis, or no active dimension to measure smoothness on). The axis is log₂ when every value is positive (β and
    γ sweeps are geometric), else linear, so that a sweep from 0 (γ = 0 is the plain VAE) keeps its first point."""
    panels = {column: label for column, label in {**PANELS, **model_terms}.items()
              if column not in OPTIONAL_PANELS or by_axis(rows, column)}
    log_scale = all(row["axis_value"] > 0 for row in rows if row["axis_value"] is not None)
    panel_rows = -(-len(panels) // columns)
    figure = Figure(figsize=(4 * columns, 3.5 * panel_rows + 0.5), layout="constrained")
    axes = list(figure.subplots(panel_rows, columns, squeeze=False).flat)
    for ax, (column, label) in zip(axes, panels.items(), strict=False):
        for setting in settings(rows):
            _errorbar_panel(ax, by_axis(rows, column, setting), setting)
        ax.set_title(textwrap.fill(label, 44), fontsize=10)  # a model term's description can be long
        if column in COUNTS:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if log_scale:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(axis.label)
        if not by_axis(rows, column):
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    _one_legend_for_all_panels(figure, axes[: len(panels)], rows, columns)
    figure.suptitle(f"Test metrics against {axis.label}: mean over seeds ± std")
    return figure


def _fid_panel(ax: Axes, rows: list[dict[str, Any]], axis: SweepAxis) -> None:
    """FID against the axis; the error bar is the seeds' standard deviation, or for a single seed the run's own
    bootstrap standard deviation, so a one-seed sweep still shows how far apart two points must be."""
    for setting in settings(rows):
        fid, bootstrap = by_axis(rows, "fid", setting), by_axis(rows, "fid_bootstrap_std", setting)
        _errorbar_panel(ax, {point: spread if spread.count > 1 else spread._replace(std=bootstrap[point].mean)
                             for point, spread in fid.items()}, setting)
    if not by_axis(rows, "fid"):
        ax.text(0.5, 0.5, "no FID: analyses without sample quality", ha="center", va="center",
                transform=ax.transAxes)
    elif all(row["axis_value"] > 0 for row in rows if row["axis_value"] is not None):
        ax.set_xscale("log", base=2)
    _legend_if_settings(ax, rows)
    ax.set_xlabel(axis.label)
    ax.set_ylabel(PANELS["fid"])
    ax.set_title(f"FID against {axis.label}: mean over seeds ± std (one seed: ± bootstrap std)")


def _errorbar_panel(ax: Axes, spreads: dict[float, Spread], setting: str) -> None:
    ax.errorbar(list(spreads), [s.mean for s in spreads.values()], yerr=[s.std for s in spreads.values()], fmt="o-",
                capsize=3, label=setting or None)


def _one_legend_for_all_panels(figure: Figure, axes: list[Axes], rows: list[dict[str, Any]], columns: int) -> None:
    """The settings' legend once, below the panels, rather than over the data of every panel."""
    if len(settings(rows)) < 2:
        return
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), columns),
                  fontsize=9, frameon=False)


def _legend_if_settings(ax: Axes, rows: list[dict[str, Any]]) -> None:
    if len(settings(rows)) > 1:
        ax.legend(fontsize=8, frameon=False)
