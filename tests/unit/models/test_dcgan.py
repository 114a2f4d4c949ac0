"""DCGAN (models/dcgan.py, models/nets/dcgan.py) on tiny widths: its networks sized from the image, its terms, its
two optimised losses, its samples."""

import math

import pytest
import torch

from vae_lightning.errors import ConfigError
from vae_lightning.models import DCGAN
from vae_lightning.models.nets.dcgan import Discriminator, Generator


@pytest.mark.parametrize(("shape", "depth"), [((1, 28, 28), 2), ((3, 64, 64), 4)])
def test_the_networks_reach_the_image_size_and_one_logit_per_image(shape, depth):
    generator, discriminator = Generator(8, shape, width=4), Discriminator(shape, width=4)
    images = generator(torch.randn(3, 8))
    assert images.shape == (3, *shape) and images.abs().max() <= 1  # tanh
    assert discriminator(images).shape == (3,)
    strided = [m for m in generator.modules() if isinstance(m, torch.nn.ConvTranspose2d) and m.stride == (2, 2)]
    assert len(strided) == depth  # 28 → 14 → 7; 64 → 32 → 16 → 8 → 4, the paper's network


def test_images_that_cannot_be_halved_to_a_small_map_are_refused():
    with pytest.raises(ConfigError, match="model=dcgan needs square images"):
        DCGAN(image_shape=(1, 28, 20))
    with pytest.raises(ConfigError, match="model=dcgan needs square images"):
        DCGAN(image_shape=(1, 7, 7))


def test_the_objective_returns_finite_scalar_terms_with_the_generator_loss_first():
    torch.manual_seed(0)
    model = DCGAN(latent_dim=8, width=4)
    terms = model.objective(torch.rand(6, 1, 28, 28), None, step=0)
    assert list(terms) == ["loss", "discriminator_loss", "real_probability", "fake_probability"]
    assert all(value.ndim == 0 and math.isfinite(value.item()) for value in terms.values())
    assert 0 < terms["real_probability"] < 1 and 0 < terms["fake_probability"] < 1


def test_each_loss_reaches_only_its_own_player():
    model = DCGAN(latent_dim=8, width=4)
    terms = model.objective(torch.rand(4, 1, 28, 28), None, step=0)
    terms["discriminator_loss"].backward()
    assert all(p.grad is None for p in model.generator.parameters())  # the generated batch was detached
    losses = model.optimised_losses()
    assert [loss.term for loss in losses] == ["loss", "discriminator_loss"]
    assert all(loss.optimizer is None for loss in losses)  # both train with the run's optimizer node
    generator, discriminator = ({id(p) for p in loss.parameters} for loss in losses)
    assert not generator & discriminator and len(generator | discriminator) == len(list(model.parameters()))


def test_samples_are_images_in_the_unit_range_and_repeat_with_the_seed():
    model = DCGAN(latent_dim=8, width=4).eval()
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(samples, model.sample(5, torch.Generator().manual_seed(0)))
