"""The KL per latent dimension of every run of a sweep on one scale: a heatmap with one row per run, and the shared
y-limit of the per-run bar charts, so how β spreads the rate over the dimensions compares at a glance."""

import numpy as np
from matplotlib.figure import Figure

from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import Run

TEST_KL_KEY = "test_kl_per_dim"


def runs_with_kl(runs: list[Run]) -> list[Run]:
    """The runs whose metrics.json holds the test KL per dimension, by axis value, then setting and seed."""
    return sorted((run for run in runs if run.metrics and run.metrics.get(TEST_KL_KEY)),
                  key=lambda run: (run.axis_value, run.setting, run.seed if run.seed is not None else 0))


def shared_top(runs: list[Run]) -> float | None:
    """A y-limit above every run's largest per-dimension KL, for bar charts that share one scale; None without any."""
    largest = [max(run.metrics[TEST_KL_KEY]) for run in runs_with_kl(runs)]
    return 1.05 * max(largest) if largest and max(largest) > 0 else None


def kl_heatmap(runs: list[Run], axis: SweepAxis) -> Figure | None:
    """Rows: runs in increasing axis value, labelled `β = 4` (with seed and setting when they vary); columns: latent
    dimensions; colour: test KL in nats on one scale for all. None when no run has it, or the latent sizes differ."""
    shown = runs_with_kl(runs)
    sizes = {len(run.metrics[TEST_KL_KEY]) for run in shown}
    if len(sizes) != 1:
        return None
    kl = np.array([run.metrics[TEST_KL_KEY] for run in shown])
    seeds_vary = len({run.seed for run in shown}) > 1
    labels = [" ".join([f"{axis.label} = {run.axis_value:g}", *([f"seed {run.seed}"] if seeds_vary else []),
                        run.setting]).strip() for run in shown]
    dims = kl.shape[1]
    # Laid out by constraints from the start: the colour bar then keeps its place when the card copy enlarges the text.
    width = max(5.0, 0.3 * dims + 2.5)
    figure = Figure(figsize=(width, max(0.45 * width, 0.4 * len(shown) + 1.4)), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(kl, aspect="auto", cmap="viridis", vmin=0, interpolation="nearest")
    ax.set_xticks(range(dims), [f"z{d}" for d in range(dims)], rotation=90, fontsize=7)
    ax.set_yticks(range(len(shown)), labels)
    ax.set_xlabel("latent dimension")
    ax.set_title(f"Test KL per dimension by {axis.label}, one row per run")
    figure.colorbar(image, ax=ax, label="KL (nats)")
    return figure
