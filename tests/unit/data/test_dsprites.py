"""data=dsprites: the renderer's geometry, the official-file validation, factor ↔ image indexing, the split protocol
and the render cache, all on small factor grids (the full grid takes 20 s to render)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from tests.config_helpers import compose_train
from tests.dsprites_helpers import FULL_TURN, TINY, TinyDSprites
from vae_lightning.data import dsprites
from vae_lightning.data.dsprites import (
    DSPRITES_FACTORS,
    OFFICIAL_FILE,
    DSpritesDataModule,
    grid_classes,
    load_official_npz,
)
from vae_lightning.data.dsprites_render import (
    IMAGE_SIZE,
    SHAPES,
    centre_px,
    render_block,
    render_grid,
    sprite_mask,
)
from vae_lightning.data.factors import FactorSource, FactorSpace
from vae_lightning.errors import ConfigError, DataError

OFFICIAL_POSITIONS = np.array(DSPRITES_FACTORS.values[3])


def tiny_module(tmp_path: Path, **overrides) -> TinyDSprites:
    settings = {"root": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache"), "num_eval_images": 20}
    module = TinyDSprites(**{**settings, **overrides})
    module.prepare_data()
    module.setup("fit")
    return module


def no_rendering(*args, **kwargs):
    raise AssertionError("rendered although the images were available without rendering")


def unpack(packed: np.ndarray) -> np.ndarray:
    return np.unpackbits(packed, axis=-1)


def direct_image(shape: str, scale: float, orientation: float, pos_x: float, pos_y: float) -> np.ndarray:
    """One image drawn pixel by pixel from the sprite's definition, without the renderer's shifted windows."""
    pixel_centres = np.arange(IMAGE_SIZE) + 0.5
    dx = pixel_centres[None, :] - centre_px(pos_x)
    dy = pixel_centres[:, None] - centre_px(pos_y)
    return sprite_mask(shape, scale, orientation, dx, dy)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(image)
    return cols.mean() + 0.5, rows.mean() + 0.5


# The renderer


def test_render_grid_is_deterministic_binary_and_in_row_major_order(tmp_path):
    first, second = render_grid(TINY), render_grid(TINY)
    images = unpack(first)
    assert images.shape == (TINY.num_combinations, IMAGE_SIZE, IMAGE_SIZE) and set(np.unique(images)) == {0, 1}
    assert np.array_equal(first, second)
    shape, scale, orientation, pos_x, pos_y = 2, 1, 1, 3, 2
    index = int(TINY.flat_index(torch.tensor([[shape, scale, orientation, pos_x, pos_y]])))
    expected = direct_image(SHAPES[shape], TINY.values[1][scale], TINY.values[2][orientation], TINY.values[3][pos_x],
                            TINY.values[4][pos_y])
    assert np.array_equal(images[index], expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_shifted_windows_match_drawing_every_position_directly(shape):
    orientations = np.array(DSPRITES_FACTORS.values[2])[[0, 7, 23]]
    block = render_block(shape, 0.7, orientations, OFFICIAL_POSITIONS, OFFICIAL_POSITIONS)
    assert block.shape == (3, 32, 32, IMAGE_SIZE, IMAGE_SIZE)
    for o, orientation in enumerate(orientations):
        for x in (0, 1, 16, 30, 31):
            for y in (0, 1, 15, 31):
                expected = direct_image(shape, 0.7, orientation, OFFICIAL_POSITIONS[x], OFFICIAL_POSITIONS[y])
                assert np.array_equal(block[o, x, y], expected), (orientation, x, y)


def test_centre_of_mass_moves_right_with_pos_x_and_down_with_pos_y():
    block = render_block("square", 0.5, np.array([0.0]), OFFICIAL_POSITIONS, OFFICIAL_POSITIONS)
    for x, y in ((0, 0), (31, 0), (0, 31), (10, 20), (31, 31)):
        col, row = centre_of_mass(block[0, x, y])
        assert col == pytest.approx(centre_px(OFFICIAL_POSITIONS[x]), abs=0.5)
        assert row == pytest.approx(centre_px(OFFICIAL_POSITIONS[y]), abs=0.5)
    assert centre_px(0.0) == 8.75 and centre_px(1.0) == 55.25


@pytest.mark.parametrize("shape", SHAPES)
def test_area_grows_with_scale_as_its_square(shape):
    scales = DSPRITES_FACTORS.values[1]
    centre = np.array([0.5])
    areas = [render_block(shape, scale, np.array([0.3]), centre, centre).sum() for scale in scales]
    assert all(small < large for small, large in zip(areas, areas[1:], strict=False))
    assert areas[-1] / areas[0] == pytest.approx(4, rel=0.15)


def test_a_full_turn_draws_the_same_image_as_no_turn():
    orientations = np.array(DSPRITES_FACTORS.values[2])
    assert orientations[0] == 0 and orientations[-1] == pytest.approx(FULL_TURN)
    for shape in SHAPES:
        block = render_block(shape, 1.0, orientations[[0, -1]], OFFICIAL_POSITIONS[::5], OFFICIAL_POSITIONS[::5])
        assert np.array_equal(block[0], block[1])


def test_the_three_shapes_differ_and_rotation_changes_the_ellipse_and_heart():
    centre = np.array([0.5])
    orientations = np.array([0.0, np.pi / 2])
    blocks = {shape: render_block(shape, 1.0, orientations, centre, centre)[:, 0, 0] for shape in SHAPES}
    square, ellipse, heart = (blocks[shape][0] for shape in SHAPES)
    assert square.sum() > heart.sum() > ellipse.sum() > 0
    assert not np.array_equal(square, heart) and not np.array_equal(heart, ellipse)
    wide, tall = blocks["ellipse"]
    assert np.ptp(np.nonzero(wide)[1]) > 1.8 * np.ptp(np.nonzero(wide)[0])  # long axis along x at orientation 0
    assert np.ptp(np.nonzero(tall)[0]) > 1.8 * np.ptp(np.nonzero(tall)[1])
    rows = np.nonzero(heart)[0]
    middle = (rows.min() + rows.max() + 1) // 2
    assert heart[:middle].sum() > 1.2 * heart[middle:].sum()  # the lobes on top, the point at the bottom


# The official file


def write_npz(path: Path, space: FactorSpace = TINY, images: np.ndarray | None = None, **replace) -> Path:
    """A file in the official layout for `space` (colour first); `replace` swaps or, with None, drops an array."""
    classes = grid_classes((1, *space.sizes))
    values = np.column_stack([np.ones(len(classes))] + [np.array(space.values[k])[classes[:, k + 1]]
                                                         for k in range(space.num_factors)])
    if images is None:
        images = np.random.default_rng(0).integers(0, 2, (len(classes), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    arrays = {"imgs": images, "latents_classes": classes, "latents_values": values, **replace}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{key: array for key, array in arrays.items() if array is not None})
    return path


def test_a_valid_official_file_loads_its_images(tmp_path):
    images = np.random.default_rng(1).integers(0, 2, (TINY.num_combinations, 64, 64), dtype=np.uint8)
    path = write_npz(tmp_path / OFFICIAL_FILE, images=images)
    assert np.array_equal(load_official_npz(path, TINY), images)


def swapped_rows(space: FactorSpace) -> np.ndarray:
    classes = grid_classes((1, *space.sizes))
    classes[[5, 6]] = classes[[6, 5]]
    return classes


BROKEN_FILES = {
    "no imgs": ({"imgs": None}, "has no imgs"),
    "imgs of another shape": ({"imgs": np.zeros((TINY.num_combinations, 32, 32), np.uint8)}, "imgs is uint8"),
    "float imgs": ({"imgs": np.zeros((TINY.num_combinations, 64, 64), np.float32)}, "expected uint8"),
    "grey imgs": ({"imgs": np.full((TINY.num_combinations, 64, 64), 255, np.uint8)}, "values up to 255"),
    "float classes": ({"latents_classes": grid_classes((1, *TINY.sizes)).astype(float)}, "expected integer"),
    "too few classes": ({"latents_classes": grid_classes((1, *TINY.sizes))[:-1]}, "latents_classes is"),
    "integer values": ({"latents_values": np.zeros((TINY.num_combinations, 6), np.int64)}, "expected float"),
    "classes out of order": ({"latents_classes": swapped_rows(TINY)}, "row 5 is"),
}


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_a_broken_official_file_is_a_data_error_naming_the_file_and_the_problem(tmp_path, name):
    replace, problem = BROKEN_FILES[name]
    path = write_npz(tmp_path / OFFICIAL_FILE, **replace)
    with pytest.raises(DataError, match="not a valid dSprites file") as error:
        load_official_npz(path, TINY)
    assert str(path) in str(error.value) and problem in str(error.value)
    assert "remove it to use the built-in renderer" in str(error.value)


def test_a_file_that_is_not_an_npz_archive_is_a_data_error(tmp_path):
    path = tmp_path / OFFICIAL_FILE
    path.write_bytes(b"not a zip archive at all")
    with pytest.raises(DataError, match="cannot be read as a NumPy .npz archive"):
        load_official_npz(path, TINY)
    with path.open("wb") as handle:
        np.save(handle, np.zeros((TINY.num_combinations, 64, 64), np.uint8))
    with pytest.raises(DataError, match="a single .npy array, not an .npz archive"):
        load_official_npz(path, TINY)


@pytest.mark.parametrize("folder", [".", "dsprites"])
def test_the_official_file_under_root_is_used_instead_of_rendering(tmp_path, monkeypatch, folder):
    images = np.random.default_rng(2).integers(0, 2, (TINY.num_combinations, 64, 64), dtype=np.uint8)
    write_npz(tmp_path / "data" / folder / OFFICIAL_FILE, images=images)
    monkeypatch.setattr(dsprites, "render_grid", no_rendering)
    module = tiny_module(tmp_path)
    assert torch.equal(module.grid()[:, 0], torch.from_numpy(images) * 255)


# The data module


def test_the_data_module_exposes_the_official_factor_grid(tmp_path):
    module = DSpritesDataModule(root=str(tmp_path), cache_dir=str(tmp_path))
    space = module.factor_space
    assert isinstance(module, FactorSource)
    assert space.names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert space.sizes == (3, 6, 40, 32, 32) and space.num_combinations == 737_280
    assert space.values[1][0] == 0.5 and space.values[1][-1] == 1.0
    assert space.values[2][-1] == pytest.approx(FULL_TURN) and space.values[3] == space.values[4]
    assert module.class_names == ("square", "ellipse", "heart") and module.image_shape == (1, 64, 64)


def test_factors_and_images_round_trip_in_every_split(tmp_path):
    module = tiny_module(tmp_path, held_out_fraction=0.25)
    for split in ("train", "val", "test"):
        factors = module.factors(split)
        images = module.split(split)
        assert factors.dtype == torch.int64 and factors.shape == (len(images), 5)
        assert torch.equal(module.images_for_factors(factors), images.images.float() / 255)
        assert torch.equal(images.labels, factors[:, 0])  # the label is the shape
    some = TINY.sample(7, torch.Generator().manual_seed(0))
    expected = unpack(render_grid(TINY))[TINY.flat_index(some).numpy()]
    assert torch.equal(module.images_for_factors(some)[:, 0], torch.from_numpy(expected).float())


def test_images_for_factors_rejects_indices_outside_the_grid(tmp_path):
    module = tiny_module(tmp_path)
    with pytest.raises(ValueError, match=r"\[0, 0, 0, 4, 0\] is outside the grid"):
        module.images_for_factors(torch.tensor([[0, 0, 0, 3, 0], [0, 0, 0, 4, 0]]))
    with pytest.raises(ValueError, match=r"shape \(n, 5\), got \(5,\)"):
        module.images_for_factors(torch.zeros(5, dtype=torch.long))


def test_by_default_training_sees_every_image_and_eval_subsets_are_seeded_draws(tmp_path):
    module = tiny_module(tmp_path)
    n = TINY.num_combinations
    assert module.num_images("train") == n and torch.equal(module.split("train").images, module.grid())
    val, test = (TINY.flat_index(module.factors(split)) for split in ("val", "test"))
    assert len(val) == len(test) == 20 and not set(val.tolist()) & set(test.tolist())
    again, other_seed = tiny_module(tmp_path), tiny_module(tmp_path, seed=1)
    assert torch.equal(again.factors("val"), module.factors("val"))
    assert not torch.equal(other_seed.factors("val"), module.factors("val"))


def test_held_out_fraction_keeps_that_share_of_combinations_out_of_training(tmp_path):
    module = tiny_module(tmp_path, held_out_fraction=0.25)
    indices = {split: set(TINY.flat_index(module.factors(split)).tolist()) for split in ("train", "val", "test")}
    n_held = round(TINY.num_combinations * 0.25)
    assert [len(indices[split]) for split in ("train", "val", "test")] == [TINY.num_combinations - n_held,
                                                                             n_held // 2, n_held - n_held // 2]
    assert not indices["train"] & (indices["val"] | indices["test"]) and not indices["val"] & indices["test"]
    assert len(indices["train"] | indices["val"] | indices["test"]) == TINY.num_combinations


def test_limit_train_samples_takes_a_seeded_subset_with_its_factors(tmp_path):
    module = tiny_module(tmp_path, limit_train_samples=50)
    assert module.num_images("train") == 50
    assert torch.equal(module.images_for_factors(module.factors("train")), module.split("train").images / 255)


def test_the_rendered_grid_is_cached_and_read_back_without_rendering(tmp_path, monkeypatch):
    first = tiny_module(tmp_path)
    cached = list((tmp_path / "cache" / "dsprites").glob("rendered-v*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(dsprites, "render_grid", no_rendering)
    assert torch.equal(tiny_module(tmp_path).grid(), first.grid())


def test_a_new_renderer_version_renders_into_a_new_cache_file(tmp_path, monkeypatch):
    tiny_module(tmp_path)
    monkeypatch.setattr(dsprites, "RENDERER_VERSION", 2)
    tiny_module(tmp_path)
    names = sorted(path.name for path in (tmp_path / "cache" / "dsprites").iterdir())
    assert [name.split("-")[1] for name in names] == ["v1", "v2"]


def test_a_damaged_cache_file_is_rendered_again(tmp_path):
    first = tiny_module(tmp_path)
    (cached,) = (tmp_path / "cache" / "dsprites").glob("rendered-v*.npz")
    cached.write_bytes(b"truncated")
    assert torch.equal(tiny_module(tmp_path).grid(), first.grid())
    assert cached.stat().st_size > 100


@pytest.mark.parametrize(("key", "value"), [("held_out_fraction", 1.0), ("held_out_fraction", True),
                                            ("num_eval_images", 0), ("root", "")])
def test_a_bad_setting_is_a_config_error_naming_its_key(tmp_path, key, value):
    with pytest.raises(ConfigError, match=f"data.{key}="):
        DSpritesDataModule(**{"cache_dir": str(tmp_path), key: value})


def test_eval_subsets_larger_than_the_grid_allows_are_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="data.num_eval_images=200 is too large"):
        tiny_module(tmp_path, num_eval_images=200)


def test_the_config_builds_the_data_module(tmp_path):
    config = compose_train("data=dsprites", "seed=3", f"data.root={tmp_path}", f"data.cache_dir={tmp_path}")
    module = instantiate(config.data)
    assert isinstance(module, DSpritesDataModule)
    assert module.hparams.batch_size == 64 and module.hparams.seed == 3 and module.hparams.held_out_fraction == 0
