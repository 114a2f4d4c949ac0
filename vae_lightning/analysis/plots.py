"""Matplotlib figures of the latent space. They take computed tensors and never run the model.

Images are drawn at native resolution with `interpolation="nearest"`, so the only enlargement is pixel repetition.
"""

import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from vae_lightning.analysis.grids import display_grid
from vae_lightning.errors import ConfigError

DPI = 100
PROJECTIONS = ("pca", "tsne")
# TensorBoard's image card shrinks a picture to its width (about 350 px in the Images tab, more in Time Series), so
# the copy logged there is drawn about this wide, with its text kept at the size it has in the PNG on disk.
CARD_WIDTH_PX = 360


def figure_to_image_tensor(figure: Figure, dpi: float = DPI) -> Tensor:
    """The rendered figure as a (3, H, W) uint8 tensor, for TensorBoard's `add_image`."""
    buffer = io.BytesIO()
    # Uncompressed: this PNG is decoded at once, so compressing it would be wasted time (about 0.1 s a figure).
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pil_kwargs={"compress_level": 0})
    image = np.asarray(Image.open(buffer).convert("RGB"))
    return torch.from_numpy(image.copy()).permute(2, 0, 1)


def card_image(figure: Figure, as_on_disk: Tensor | None = None) -> Tensor:
    """The figure redrawn about `CARD_WIDTH_PX` wide for a TensorBoard card: everything but the text is reduced and
    the text enlarged by as much, so labels read as they do on disk instead of shrinking to a few pixels; the layout
    then makes room for the larger text and tick labels that would overlap are thinned out. Changes the figure; one
    no wider than a card is drawn as on disk (`as_on_disk`, when the caller has already rendered it)."""
    as_on_disk = figure_to_image_tensor(figure) if as_on_disk is None else as_on_disk
    shrink = as_on_disk.shape[-1] / CARD_WIDTH_PX
    if shrink <= 1:
        return as_on_disk
    for text in figure.findobj(Text):
        text.set_fontsize(text.get_fontsize() * shrink)
    for ax in figure.axes:
        ax.title.set_wrap(True)  # a title longer than the card breaks into lines instead of widening it
    figure.set_layout_engine("constrained")
    figure.set_dpi(DPI / shrink)
    renderer = FigureCanvasAgg(figure).get_renderer()
    with warnings.catch_warnings():
        # On a tall one-column card (the report's metrics against β) matplotlib says "constrained_layout not
        # applied" for one of its passes, and lays the card out all the same: the warning only cluttered the console.
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        figure.draw_without_rendering()  # lays the text out for _thin_tick_labels without rasterising the figure
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            _thin_tick_labels(axis, renderer)
    figure.set_layout_engine("none")  # the layout above stands: laying 30 axes out again costs a second per figure
    return figure_to_image_tensor(figure, dpi=DPI / shrink)


def _thin_tick_labels(axis: Axis, renderer: RendererBase) -> None:
    """Keep every k-th tick label, with the smallest k at which no two shown labels overlap."""
    along = 0 if axis.axis_name == "x" else 1
    placed = sorted(((label.get_window_extent(renderer).get_points()[:, along], label)
                     for label in axis.get_majorticklabels() if label.get_visible() and label.get_text()),
                    key=lambda pair: pair[0][0])
    step = next((step for step in range(1, len(placed) + 1) if _apart([span for span, _ in placed[::step]])), 1)
    if step > 1:
        kept = [label for _, label in placed[::step]]
        axis.set_ticks([label.get_position()[along] for label in kept], [label.get_text() for label in kept])


def _apart(spans: list[np.ndarray], gap_px: float = 2.0) -> bool:
    return all(left[1] + gap_px <= right[0] for left, right in zip(spans, spans[1:], strict=False))


class Publisher:
    """Saves a picture as `<name>.png` and logs it to TensorBoard under `<prefix>/<name>`, or logs `card` instead:
    a version laid out for a TensorBoard card (one column of panels, say). A figure logged is drawn card-sized
    (`card_image`), an image is logged as it is."""

    def __init__(self, output_dir: Path, writer: SummaryWriter, prefix: str) -> None:
        self.output_dir = output_dir
        self.writer = writer
        self.prefix = prefix

    def __call__(self, name: str, picture: Figure | Tensor, card: Figure | Tensor | None = None) -> None:
        image = picture if isinstance(picture, Tensor) else figure_to_image_tensor(picture)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(self.output_dir / f"{name}.png")
        if card is None:
            shown = image if isinstance(picture, Tensor) else card_image(picture, as_on_disk=image)
        else:
            shown = card if isinstance(card, Tensor) else card_image(card)
        self.writer.add_image(f"{self.prefix}/{name}", shown)


def show_images(axes: Axes, images: Tensor, nrow: int) -> None:
    """Draw (N, C, H, W) images in [0, 1] as one grid without interpolation."""
    grid = display_grid(images, nrow=nrow).permute(1, 2, 0).numpy()
    axes.imshow(grid, interpolation="nearest", vmin=0, vmax=1)
    axes.set_xticks([])
    axes.set_yticks([])


def image_figure(rows: int, columns: int, side: int, extra_width: float = 0.0) -> Figure:
    """A figure sized so each image cell is drawn at an integer multiple of its pixels."""
    cell = (side + 2) * 3 / DPI
    return Figure(figsize=(columns * cell + extra_width, rows * cell + 0.6))


def reconstructions_by_class(inputs: Tensor, reconstructions: Tensor, labels: Tensor, class_names: tuple[str, ...],
                             per_class: int) -> Figure:
    """One row per class: its first test inputs, then their reconstructions (decoder mean at μ)."""
    classes = labels.unique().tolist()
    figure = image_figure(len(classes), 2 * per_class, inputs.shape[-1], extra_width=1.6)
    axes = figure.subplots(len(classes), 1, squeeze=False)[:, 0]
    for ax, label in zip(axes, classes, strict=True):
        chosen = (labels == label).nonzero().flatten()[:per_class]
        show_images(ax, torch.cat([inputs[chosen], reconstructions[chosen]]), nrow=2 * per_class)
        ax.set_ylabel(class_names[label], rotation=0, ha="right", va="center")
    axes[0].set_title(f"inputs ({per_class}) | reconstructions ({per_class})")
    return figure


def sample_grid(samples: Tensor, title: str) -> Figure:
    nrow = max(1, int(len(samples) ** 0.5))
    figure = image_figure(-(-len(samples) // nrow), nrow, samples.shape[-1])
    ax = figure.subplots()
    show_images(ax, samples, nrow=nrow)
    ax.set_title(title)
    return figure


def samples_by_class(images: Tensor, class_names: list[str]) -> Figure:
    """Rows: classes; columns: prior draws shared by every row, so a column shows what z alone decides."""
    classes, draws = images.shape[:2]
    figure = image_figure(classes, draws, images.shape[-1], extra_width=1.6)
    axes = figure.subplots(classes, 1, squeeze=False)[:, 0]
    for ax, row, name in zip(axes, images, class_names, strict=True):
        show_images(ax, row, nrow=draws)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    axes[0].set_title("Samples by class: each column is one z ~ N(0, I) decoded under every class")
    return figure


def _dim_label(dim: int, kl_per_dim: Tensor, active: Tensor, notes: Mapping[int, str]) -> str:
    state = "" if active[dim] else "\n(inactive)"
    note = f"\n{notes[dim]}" if dim in notes else ""
    return f"z{dim}  KL {kl_per_dim[dim]:.2f}{note}{state}"


def _offset_labels(offsets: Tensor) -> list[str]:
    return [f"{value:+.1f}σ" if abs(value) > 1e-6 else "μ" for value in offsets.tolist()]


def traversal_grid(images: Tensor, dims: list[int], kl_per_dim: Tensor, active: Tensor, offsets: Tensor,
                   title: str, base_image: Tensor | None = None, notes: Mapping[int, str] | None = None) -> Figure:
    """Rows: dimensions, each labelled with its KL (and `notes`, e.g. the known factor it predicts best); columns:
    offsets from the base code in prior σ, with the μ column outlined. `base_image`, when given, is shown above the μ
    column, so the input sits over its reconstruction."""
    header = [] if base_image is None else [base_image]
    figure = image_figure(len(dims) + len(header), len(offsets), images.shape[-1], extra_width=1.6)
    axes = figure.subplots(len(dims) + len(header), 1, squeeze=False)[:, 0]
    side = images.shape[-1] + 2
    mu_column = int(offsets.abs().argmin()) if offsets.abs().min() < 1e-6 else None
    if base_image is not None:
        row = torch.ones(len(offsets), *base_image.shape)
        row[mu_column if mu_column is not None else len(offsets) // 2] = base_image
        show_images(axes[0], row, nrow=len(offsets))
        axes[0].set_ylabel("input", rotation=0, ha="right", va="center")
    for ax, row, dim in zip(axes[len(header):], images, dims, strict=True):
        show_images(ax, row, nrow=len(offsets))
        ax.set_ylabel(_dim_label(dim, kl_per_dim, active, notes or {}), rotation=0, ha="right", va="center",
                      color="black" if active[dim] else "grey")
        if mu_column is not None:
            ax.add_patch(Rectangle((side * mu_column + 0.5, 0.5), side - 1, side - 1, fill=False,
                                   edgecolor="tab:red", linewidth=1.5))
    axes[-1].set_xticks([side * i + side / 2 for i in range(len(offsets))], _offset_labels(offsets))
    axes[0].set_title(title)
    return figure


def traversal_strips(images: Tensor, dims: list[int], kl_per_dim: Tensor, active: Tensor,
                     offsets: Tensor, notes: Mapping[int, str] | None = None) -> Figure:
    """Every dimension as one thin strip, ordered by KL: which dimensions change the image at all."""
    return traversal_grid(images, dims, kl_per_dim, active, offsets, "Every latent dimension, ordered by KL",
                          notes=notes)


def traversal_animation(images: Tensor, dims: list[int], path: Path, frame_ms: int = 120, scale: int = 4) -> Path:
    """A GIF sweeping the given dimensions side by side, forward then back so the loop has no jump."""
    steps = images.shape[1]
    order = list(range(steps)) + list(range(steps - 2, 0, -1))
    frames = []
    for step in order:
        grid = display_grid(images[:, step], nrow=len(dims), scale=scale)
        frames.append(Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return path


def interpolation_grid(linear: Tensor, spherical: Tensor,
                       title: str = "Interpolations between test images' μ") -> Figure:
    """For each pair of test images, the linear path above the spherical one between their μ."""
    pairs, steps = linear.shape[:2]
    figure = image_figure(2 * pairs, steps, linear.shape[-1], extra_width=1.2)
    axes = figure.subplots(2 * pairs, 1, squeeze=False)[:, 0]
    for pair in range(pairs):
        for offset, (name, path) in enumerate((("linear", linear), ("spherical", spherical))):
            ax = axes[2 * pair + offset]
            show_images(ax, path[pair], nrow=steps)
            ax.set_ylabel(f"pair {pair + 1}\n{name}", rotation=0, ha="right", va="center")
    axes[0].set_title(title)
    return figure


def project_2d(mu: Tensor, method: str, seed: int, max_points: int | None = None) -> tuple[np.ndarray, Tensor]:
    """2-D coordinates of (a seeded subsample of) μ and the indices kept; t-SNE is O(N²), hence the cap."""
    if method not in PROJECTIONS:
        raise ConfigError(f"latent map method {method!r} is not known: use one of {', '.join(PROJECTIONS)}.")
    kept = torch.arange(len(mu))
    if max_points is not None and len(mu) > max_points:
        kept = torch.randperm(len(mu), generator=torch.Generator().manual_seed(seed))[:max_points].sort().values
    features = mu[kept].double().numpy()
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(features), kept
    perplexity = min(30.0, (len(features) - 1) / 3)
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(features), kept


def latent_map(points: np.ndarray, labels: Tensor, class_names: tuple[str, ...], title: str, method: str) -> Figure:
    """2-D points coloured by label, one legend entry per class (a qualitative palette up to 20 classes)."""
    figure = Figure(figsize=(7.5, 6))
    ax = figure.subplots()
    palette = "tab10" if len(class_names) <= 10 else "tab20" if len(class_names) <= 20 else "turbo"
    colours = ax.scatter(points[:, 0], points[:, 1], c=labels.numpy(), cmap=palette, vmin=-0.5,
                         vmax=max(len(class_names), 10 if palette == "tab10" else 20) - 0.5, s=3, alpha=0.7,
                         linewidths=0)
    handles = [ax.scatter([], [], color=colours.cmap(colours.norm(label)), s=20) for label in range(len(class_names))]
    ax.legend(handles, class_names, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    axis = "PC" if method == "pca" else "t-SNE "
    ax.set_xlabel(f"{axis}1")
    ax.set_ylabel(f"{axis}2")
    ax.set_title(title)
    return figure


def kl_bar_chart(kl_per_dim: Tensor, mu_variance: Tensor, threshold: float, title: str) -> Figure:
    """KL per dimension (top) and Cov(μ_d), the quantity that defines active units, with its threshold (bottom)."""
    active = (mu_variance > threshold).numpy()
    colours = np.where(active, "tab:blue", "lightgrey")
    index = np.arange(len(kl_per_dim))
    figure = Figure(figsize=(max(6.0, 0.25 * len(index)), 5.5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.bar(index, kl_per_dim.numpy(), color=colours)
    top.set_ylabel("KL (nats)")
    top.set_title(f"{title}: {int(active.sum())} of {len(index)} dimensions active")
    bottom.bar(index, mu_variance.numpy(), color=colours)
    bottom.axhline(threshold, color="tab:red", linestyle="--", label=f"active-unit threshold {threshold:g}")
    bottom.set_yscale("log")
    bottom.set_ylabel("Cov(μ_d) over test images")
    bottom.set_xlabel("latent dimension")
    # Above the axes, not over them: a legend inside the plot covers the bars of the dimensions it sits on.
    bottom.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, borderaxespad=0.2)
    return figure


def per_dimension_bar_chart(values: Tensor, title: str, top: float | None = None) -> Figure:
    """Bars in dimension order (so epochs and runs compare like for like), each labelled z<d>, sized to read at card
    size; `top` fixes the y-axis, so charts of several runs share one scale."""
    width = max(4.0, 0.22 * len(values) + 1.2)
    figure = Figure(figsize=(width, max(2.6, 0.45 * width)))  # tall enough for the bars once reduced to a card
    axes = figure.subplots()
    axes.bar(range(len(values)), values.tolist(), color="tab:blue")
    axes.set_xticks(range(len(values)), [f"z{d}" for d in range(len(values))], rotation=90, fontsize=7)
    axes.set_xlim(-0.6, len(values) - 0.4)
    if top is not None:
        axes.set_ylim(0, top)
    axes.set_ylabel("nats per image")
    axes.set_title(title, fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    return figure
