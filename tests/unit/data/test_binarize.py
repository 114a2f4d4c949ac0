import pytest
import torch

from vae_lightning.data.binarize import (
    BINARIZE_MODES,
    binarize,
    binarize_split,
    binarizes_per_batch,
    check_binarize_mode,
    fixed_binarization,
)
from vae_lightning.errors import ConfigError

GREYS = torch.tensor([0.0, 0.01, 0.37, 0.5, 0.9, 1.0])


def grey_split(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_dynamic_draws_have_the_grey_value_as_mean():
    n = 40000
    draws = binarize(GREYS.expand(n, -1), "dynamic", torch.Generator().manual_seed(0))
    tolerance = 5 * torch.sqrt(GREYS * (1 - GREYS) / n) + 1e-12  # five standard errors; exact at 0 and 1
    assert ((draws.mean(0) - GREYS).abs() <= tolerance).all()


def test_dynamic_draws_differ_between_epochs_and_repeat_under_the_same_seed():
    images = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(7)
    epoch_1, epoch_2 = binarize(images, "dynamic", generator), binarize(images, "dynamic", generator)
    assert not torch.equal(epoch_1, epoch_2)
    replay = torch.Generator().manual_seed(7)
    assert torch.equal(binarize(images, "dynamic", replay), epoch_1)
    assert torch.equal(binarize(images, "dynamic", replay), epoch_2)


def test_dynamic_draws_resume_from_a_saved_generator_state():
    images = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(3)
    binarize(images, "dynamic", generator)
    state = generator.get_state()
    expected = binarize(images, "dynamic", generator)
    resumed = torch.Generator()
    resumed.set_state(state)
    assert torch.equal(binarize(images, "dynamic", resumed), expected)


@pytest.mark.parametrize("mode", BINARIZE_MODES)
def test_outputs_are_binary_in_the_input_dtype(mode):
    images = torch.rand(8, 3, 4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    out = binarize(images, mode, torch.Generator().manual_seed(0))
    assert out.dtype == torch.float64
    if mode == "none":
        assert torch.equal(out, images)
    else:
        assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_threshold_is_pixel_above_one_half():
    images = torch.tensor([0.0, 0.49, 0.5, 0.5001, 1.0])
    assert binarize(images, "threshold").tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_threshold_of_a_uint8_split_matches_the_float_threshold():
    images = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    split = binarize_split(images, "threshold", seed=0, split="train")
    assert split.dtype == torch.uint8
    assert torch.equal(split.float() / 255, binarize(images.float() / 255, "threshold"))
    assert split.flatten()[127].item() == 0 and split.flatten()[128].item() == 255


def test_static_binarization_is_fixed_and_reproducible():
    images = grey_split(200)
    first = fixed_binarization(images, seed=5)
    assert torch.equal(first, fixed_binarization(images, seed=5))
    assert not torch.equal(first, fixed_binarization(images, seed=6))
    assert first.dtype == torch.uint8 and set(first.unique().tolist()) <= {0, 255}
    assert torch.equal(binarize_split(images, "static", seed=5, split="train"),
                       binarize_split(images, "static", seed=5, split="train"))


def test_static_binarization_has_the_grey_value_as_mean():
    n = 40000
    levels = (GREYS * 255).round().to(torch.uint8)
    images = levels.view(1, -1, 1, 1).expand(n, -1, 1, 1).contiguous()  # several chunks of the draw
    probability = levels.double() / 255
    means = fixed_binarization(images, seed=0).double().div(255).mean((0, 2, 3))
    assert ((means - probability).abs() <= 5 * torch.sqrt(probability * (1 - probability) / n) + 1e-12).all()


def test_each_split_gets_its_own_fixed_draw():
    images = grey_split(100)
    val, test = (binarize_split(images, "static", seed=0, split=s) for s in ("val", "test"))
    assert not torch.equal(val, test)
    assert torch.equal(binarize_split(images, "dynamic", seed=0, split="test"), test)


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_the_test_draw_is_the_same_for_every_seed_and_the_run_splits_are_not(mode):
    images = grey_split(100)
    assert torch.equal(binarize_split(images, mode, seed=0, split="test"),
                       binarize_split(images, mode, seed=7, split="test"))
    assert not torch.equal(binarize_split(images, mode, seed=0, split="val"),
                           binarize_split(images, mode, seed=7, split="val"))


def test_dynamic_training_split_stays_grey_and_is_drawn_per_batch():
    images = grey_split(10)
    assert torch.equal(binarize_split(images, "dynamic", seed=0, split="train"), images)
    assert binarizes_per_batch("dynamic", "train")
    assert not any(binarizes_per_batch(mode, split) for mode in BINARIZE_MODES for split in ("val", "test"))
    assert not binarizes_per_batch("static", "train")


def test_none_leaves_every_split_unchanged():
    images = grey_split(10)
    for split in ("train", "val", "test"):
        assert torch.equal(binarize_split(images, "none", seed=0, split=split), images)


@pytest.mark.parametrize("value", ["Dynamic", "bernoulli", "", None, True, 0.5])
def test_bad_mode_raises_config_error_naming_data_binarize(value):
    with pytest.raises(ConfigError, match="data.binarize"):
        check_binarize_mode(value)
    with pytest.raises(ConfigError, match="data.binarize"):
        binarize(torch.rand(2), value)


def test_good_modes_pass_the_check():
    assert [check_binarize_mode(mode) for mode in BINARIZE_MODES] == list(BINARIZE_MODES)
