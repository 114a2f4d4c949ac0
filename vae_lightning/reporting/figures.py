"""Plots of the sweep's numbers against β: the rate–distortion curve and one panel per metric.

Each point is the mean over a β's finished seeds, with the seeds' standard deviation as error bars; each setting (the
other swept values, e.g. data.labeled_fraction) is its own line.
"""

import textwrap
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vae_lightning.analysis.factor_scores import HEADLINES
from vae_lightning.reporting.aggregate import Spread, by_beta, settings

PANELS = {
    "neg_elbo": "negative ELBO (nats/image)",
    "recon": "reconstruction −log p(x|z) (nats/image)",
    "kl": "KL, the rate (nats/image)",
    "iwae": "IWAE bound on −log p(x) (nats/image)",
    "active_units": "active units",
    "linear_probe": "linear probe accuracy",
    **{column: label for column, (_, _, label) in HEADLINES.items()},
    "monotonicity": "traversal monotonicity (active dims)",
    "step_change": "traversal step change (active dims)",
}

# Panels whose values are counts, drawn with whole-number ticks.
COUNTS = ("active_units",)


def rate_distortion(rows: list[dict[str, Any]]) -> Figure:
    """KL (x) against reconstruction (y), one labelled point per β: where each β sits on the trade-off."""
    figure = Figure(figsize=(6.5, 5))
    ax = figure.subplots()
    for setting in settings(rows):
        kl, recon = by_beta(rows, "kl", setting), by_beta(rows, "recon", setting)
        betas = [beta for beta in kl if beta in recon]
        ax.errorbar(
            [kl[b].mean for b in betas],
            [recon[b].mean for b in betas],
            xerr=[kl[b].std for b in betas],
            yerr=[recon[b].std for b in betas],
            fmt="o-",
            capsize=3,
            label=setting or None,
        )
        for beta in betas:
            ax.annotate(f"β = {beta:g}", (kl[beta].mean, recon[beta].mean), textcoords="offset points", xytext=(6, 6))
    _legend_if_settings(ax, rows)
    ax.set_xlabel(PANELS["kl"])
    ax.set_ylabel(PANELS["recon"])
    ax.set_title("Rate–distortion: mean over seeds ± std")
    return figure


def metrics_vs_beta(rows: list[dict[str, Any]], model_terms: dict[str, str], columns: int = 4) -> Figure:
    """One panel per metric against β on a log₂ axis, then one per term of the models' own objectives
    (`model_terms`, name → description), in rows of `columns` panels (one for a TensorBoard card); a panel without
    values says so (no analysis, or no active dimension to measure smoothness on)."""
    panels = {column: label for column, label in {**PANELS, **model_terms}.items()
              if column not in HEADLINES or by_beta(rows, column)}
    panel_rows = -(-len(panels) // columns)
    figure = Figure(figsize=(4 * columns, 3.5 * panel_rows + 0.5), layout="constrained")
    axes = list(figure.subplots(panel_rows, columns, squeeze=False).flat)
    for ax, (column, label) in zip(axes, panels.items(), strict=False):
        for setting in settings(rows):
            _errorbar_panel(ax, by_beta(rows, column, setting), setting)
        ax.set_title(textwrap.fill(label, 44), fontsize=10)  # a model term's description can be long
        if column in COUNTS:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if not by_beta(rows, column):
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    _one_legend_for_all_panels(figure, axes[: len(panels)], rows, columns)
    figure.suptitle("Test metrics against β: mean over seeds ± std")
    return figure


def _errorbar_panel(ax: Axes, spreads: dict[float, Spread], setting: str) -> None:
    betas = list(spreads)
    ax.errorbar(betas, [s.mean for s in spreads.values()], yerr=[s.std for s in spreads.values()], fmt="o-",
                capsize=3, label=setting or None)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("β")


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
