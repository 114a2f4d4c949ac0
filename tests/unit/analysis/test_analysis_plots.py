import matplotlib.text
import numpy as np
import pytest
import torch
from matplotlib.image import AxesImage
from PIL import Image

from vae_lightning.analysis import plots
from vae_lightning.errors import ConfigError

KL = torch.tensor([2.0, 0.001, 1.0])
ACTIVE = torch.tensor([True, False, True])
OFFSETS = torch.linspace(-3, 3, 5)


def _labels(figure) -> list[str]:
    return [ax.get_ylabel() for ax in figure.axes]


def test_traversal_grid_labels_rows_by_dimension_kl_and_activity():
    figure = plots.traversal_grid(torch.rand(3, 5, 1, 8, 8), [0, 2, 1], KL, ACTIVE, OFFSETS, "t")
    assert _labels(figure) == ["z0  KL 2.00", "z2  KL 1.00", "z1  KL 0.00\n(inactive)"]
    assert [t.get_text() for t in figure.axes[-1].get_xticklabels()] == ["-3.0σ", "-1.5σ", "μ", "+1.5σ", "+3.0σ"]


def test_traversal_panel_labels_rows_columns_mu_and_the_input():
    images = torch.rand(2, 5, 1, 28, 28)
    figure = plots.traversal_grid(images, [3, 1], torch.tensor([0.0, 0.5, 0.0, 1.25]),
                                  torch.ones(4, dtype=torch.bool), torch.linspace(-2, 2, 5), "title",
                                  base_image=torch.rand(1, 28, 28))
    texts = {text.get_text() for text in figure.findobj(matplotlib.text.Text)}
    assert {"z3  KL 1.25", "z1  KL 0.50", "input", "μ", "-2.0σ", "+1.0σ", "+2.0σ"} <= texts


def test_images_are_drawn_without_interpolation():
    figure = plots.sample_grid(torch.rand(9, 1, 8, 8), "samples")
    images = [child for child in figure.axes[0].get_children() if isinstance(child, AxesImage)]
    assert images and all(image.get_interpolation() == "nearest" for image in images)


def test_latent_map_legend_names_every_class():
    names = tuple(f"class {i}" for i in range(10))
    figure = plots.latent_map(np.random.rand(50, 2), torch.arange(50) % 10, names, "map", "pca")
    assert [text.get_text() for text in figure.axes[0].get_legend().get_texts()] == list(names)
    assert figure.axes[0].get_xlabel() == "PC1"


def test_kl_chart_colours_active_and_inactive_dimensions_apart():
    figure = plots.kl_bar_chart(KL, torch.tensor([0.5, 0.001, 0.2]), 0.01, "KL")
    colours = {tuple(bar.get_facecolor()) for bar in figure.axes[0].patches}
    assert len(figure.axes[0].patches) == 3 and len(colours) == 2
    assert "2 of 3" in figure.axes[0].get_title()


def test_pca_projection_recovers_the_dominant_direction():
    generator = torch.Generator().manual_seed(0)
    direction = torch.nn.functional.normalize(torch.randn(8, generator=generator), dim=0)
    strength = torch.randn(500, 1, generator=generator) * 5
    mu = strength * direction + 0.1 * torch.randn(500, 8, generator=generator)
    points, kept = plots.project_2d(mu, "pca", seed=0)
    assert len(kept) == 500 and abs(np.corrcoef(points[:, 0], strength[:, 0].numpy())[0, 1]) > 0.99


def test_tsne_subsamples_deterministically():
    mu = torch.randn(120, 4, generator=torch.Generator().manual_seed(1))
    first, kept = plots.project_2d(mu, "tsne", seed=3, max_points=50)
    second, _ = plots.project_2d(mu, "tsne", seed=3, max_points=50)
    assert first.shape == (50, 2) and len(kept) == 50
    np.testing.assert_allclose(first, second)
    with pytest.raises(ConfigError, match="umap"):
        plots.project_2d(mu, "umap", seed=0)


def test_animation_ping_pongs_through_the_steps(tmp_path):
    path = plots.traversal_animation(torch.rand(3, 6, 1, 8, 8), [0, 1, 2], tmp_path / "t.gif", scale=2)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 * 6 - 2
        assert gif.size == ((3 * 10 + 2) * 2, (10 + 2) * 2)


class _Writer:
    def __init__(self) -> None:
        self.logged = {}

    def add_image(self, tag, image):
        self.logged[tag] = image


def _saved(path) -> torch.Tensor:
    with Image.open(path) as saved:
        return torch.from_numpy(np.asarray(saved.convert("RGB")).copy()).permute(2, 0, 1)


def test_publisher_logs_a_figure_no_wider_than_a_card_as_saved(tmp_path):
    writer = _Writer()
    plots.Publisher(tmp_path, writer, "analysis")("samples", plots.sample_grid(torch.rand(4, 1, 8, 8), "s"))
    image = writer.logged["analysis/samples"]
    assert image.dtype == torch.uint8 and image.shape[0] == 3 and image.shape[-1] <= plots.CARD_WIDTH_PX
    assert torch.equal(_saved(tmp_path / "samples.png"), image)


def test_a_wide_figure_is_logged_card_wide_with_its_text_as_tall_as_on_disk(tmp_path):
    figure = plots.traversal_strips(torch.rand(6, 11, 1, 28, 28), list(range(6)), torch.rand(6),
                                    torch.ones(6, dtype=torch.bool), torch.linspace(-3, 3, 11))
    title_px_on_disk = figure.axes[0].title.get_fontsize() * plots.DPI / 72
    writer = _Writer()
    plots.Publisher(tmp_path, writer, "analysis")("strips", figure)
    on_disk, logged = _saved(tmp_path / "strips.png"), writer.logged["analysis/strips"]
    assert on_disk.shape[-1] > 1.5 * plots.CARD_WIDTH_PX  # drawn at 3× the image pixels
    assert logged.shape[-1] <= 1.4 * plots.CARD_WIDTH_PX  # the layout widens a little for the larger labels
    shrink = on_disk.shape[-1] / plots.CARD_WIDTH_PX
    title_px_on_card = figure.axes[0].title.get_fontsize() * plots.DPI / shrink / 72
    assert title_px_on_card == pytest.approx(title_px_on_disk)
