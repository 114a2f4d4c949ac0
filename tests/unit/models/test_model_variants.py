"""The conditional VAE and the VAE with a classifier head: what each adds to the plain β-VAE, checked in isolation."""

import re

import pytest
import torch
from torch import nn

from tests.config_helpers import compose_train
from vae_lightning.analysis import decoding
from vae_lightning.analysis.metrics import chance_accuracy
from vae_lightning.analysis.panels import chosen_classes, pairs_differing_in
from vae_lightning.cli.config_check import validate_train_config
from vae_lightning.engine.building import constructor_parameters
from vae_lightning.engine.checkpoint_schema import FORMAT_KEY, FORMAT_VERSION
from vae_lightning.errors import CheckpointError, ConfigError
from vae_lightning.models import BetaVAE, ClassifierVAE, ConditionalVAE
from vae_lightning.models.nets.conv_vae import ConvVAE, derived_channels
from vae_lightning.runs.loading import restore_model

SMALL = {"image_shape": (1, 8, 8), "latent_dim": 3, "channels": (4,), "hidden_dim": 8}


@pytest.mark.parametrize(("side", "channels"), [(28, (32, 64)), (64, (32, 64, 128, 256)), (16, (32, 64)),
                                                (8, (32,)), (256, (32, 64, 128, 256, 256, 256))])
def test_depth_follows_the_image_size(side, channels):
    assert derived_channels(side) == channels
    vae = ConvVAE(image_shape=(3, side, side), latent_dim=2)
    assert vae.channels == channels
    assert vae(torch.rand(1, 3, side, side)).decoder_output.shape == (1, 3, side, side)


@pytest.mark.parametrize("side", [6, 7])
def test_an_image_too_small_to_halve_is_refused_with_the_fix(side):
    with pytest.raises(ConfigError, match="data.image_size"):
        derived_channels(side)


@pytest.mark.parametrize("conditioning", ["onehot", "embedding"])
def test_the_decoder_of_a_conditional_vae_depends_on_the_label(conditioning):
    torch.manual_seed(0)
    model = ConditionalVAE(num_classes=4, conditioning=conditioning, embedding_dim=5, **SMALL)
    z = torch.randn(2, 3)
    as_class_0 = model.decode_mean(z, model.condition(torch.tensor([0, 0])))
    as_class_3 = model.decode_mean(z, model.condition(torch.tensor([3, 3])))
    assert not torch.allclose(as_class_0, as_class_3)
    assert model.condition(torch.tensor([1])).shape == (1, 4 if conditioning == "onehot" else 5)


def test_a_conditional_vae_without_labels_says_what_it_needs():
    model = ConditionalVAE(num_classes=3, **SMALL)
    with pytest.raises(ConfigError, match="needs the class label"):
        model.objective(torch.rand(2, 1, 8, 8), None, None)


def test_the_plain_vae_ignores_labels():
    torch.manual_seed(0)
    model = BetaVAE(**SMALL)
    x = torch.rand(2, 1, 8, 8)
    assert model.condition(torch.tensor([0, 1])) is None
    torch.manual_seed(1)
    with_labels = model.objective(x, torch.tensor([0, 1]), None)
    torch.manual_seed(1)
    without = model.objective(x, None, None)
    assert all(torch.equal(with_labels[name], without[name]) for name in without)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"conditioning": "film"}, "model.conditioning='film' is not allowed"),
    ({"embedding_dim": 0}, "model.embedding_dim=0 is not allowed"),
    ({"num_classes": 1}, "needs ≥ 2 classes"),
])
def test_bad_conditional_settings_name_their_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ConditionalVAE(**({"num_classes": 3} | kwargs), **SMALL)


def _classifier_loss(labels: torch.Tensor, alpha: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """What the classifier head adds to the β-VAE loss for `labels`, and its logits for the same images."""
    torch.manual_seed(0)
    model = ClassifierVAE(num_classes=3, alpha=alpha, **SMALL)
    x = torch.rand(len(labels), 1, 8, 8)
    torch.manual_seed(1)
    terms = model.objective(x, labels, None)
    torch.manual_seed(1)
    vae_loss = model.beta_vae_terms(model(x), x, None)["loss"]
    assert terms["loss"].item() == pytest.approx((vae_loss + alpha * terms["ce"]).item(), rel=1e-6)
    return alpha * terms["ce"], model.classify(model.encode(x)[0])


def test_the_classifier_loss_counts_only_labelled_images():
    labels = torch.tensor([2, -1, 0, -1])
    loss, logits = _classifier_loss(labels, alpha=2.0)
    expected = nn.functional.cross_entropy(logits[[0, 2]], labels[[0, 2]])
    assert loss.item() == pytest.approx(2.0 * expected.item(), rel=1e-6)


def test_a_batch_without_labels_adds_nothing_and_stays_finite():
    loss, _ = _classifier_loss(torch.tensor([-1, -1]))
    assert loss.item() == 0.0


def test_subclass_settings_include_the_vae_settings_they_pass_on():
    parameters = constructor_parameters(ConditionalVAE)
    assert {"num_classes", "conditioning", "embedding_dim", "beta", "latent_dim", "kl_schedule"} <= set(parameters)
    assert "vae_settings" not in parameters


def _checkpoint(model_settings: dict, state: dict) -> dict:
    return {FORMAT_KEY: FORMAT_VERSION, "state_dict": {f"model.{key}": value for key, value in state.items()},
            "hyper_parameters": {"model": model_settings, "optimizer": {}, "scheduler": None}}


@pytest.mark.parametrize("settings", [
    {"_target_": "os.system"},
    {"_target_": "vae_lightning.models.BetaVAE", "channels": {"_target_": "os.system", "_args_": ["true"]}},
], ids=["model", "nested"])
def test_a_checkpoint_naming_a_class_outside_the_trusted_packages_is_refused(settings, tmp_path):
    with pytest.raises(CheckpointError, match="outside the packages trusted"):
        restore_model(_checkpoint(settings, {}), tmp_path / "x.ckpt")


def test_a_checkpoint_restores_as_the_class_that_wrote_it(tmp_path):
    model = ConditionalVAE(num_classes=3, **SMALL)
    settings = {"_target_": "vae_lightning.models.ConditionalVAE", **model.hparams}
    restored = restore_model(_checkpoint(settings, model.state_dict()), tmp_path / "x.ckpt")
    assert type(restored) is ConditionalVAE and restored.hparams.num_classes == 3


def test_a_conditional_models_prior_samples_decode_the_same_draws_under_every_class_row():
    torch.manual_seed(0)
    model = ConditionalVAE(num_classes=3, **SMALL).eval()
    z = torch.randn(4, SMALL["latent_dim"])
    grid = decoding.prior_samples(model, z, [2, 0])
    assert grid.shape == (2, 4, 1, 8, 8)
    assert torch.equal(grid[0], decoding.decode(model, z, 2)) and torch.equal(grid[1], decoding.decode(model, z, 0))
    assert not torch.allclose(grid[0], grid[1])


def test_samples_can_be_asked_for_by_class_name_or_index():
    names = ("cat", "dog", "owl")
    assert chosen_classes(None, names) == [0, 1, 2]
    assert chosen_classes(["owl", 0], names) == [2, 0]
    with pytest.raises(ConfigError, match="neither a class name nor a label index"):
        chosen_classes(["emu"], names)


def test_chance_is_the_share_of_the_most_common_label():
    assert chance_accuracy(torch.tensor([0, 1, 1, 1, 2])) == pytest.approx(0.6)


@pytest.mark.parametrize(("overrides", "message"), [
    (["model=cvae", "model.conditioning=film"], "model.conditioning='film' is not allowed"),
    (["model=cvae", "model.embedding_dim=-2"], "model.embedding_dim=-2 is not allowed"),
    (["model=cvae", "+model.alpha=1"], "model.alpha is not an argument of vae_lightning.models"),
    (["model=vae_classifier", "model.alpha=-1"], "model.alpha=-1 is not allowed"),
    (["model=vae_classifier", "model.alpha=abc"], "model.alpha='abc' is not allowed: it must be a number"),
    (["model.channels=[4,8,16,32]"], "cannot pass through 4 stride-2 convolution layers"),
    (["model=cvae", "data.labeled_fraction=0.5"], "A conditional model needs the label of every training image"),
    (["data.labeled_fraction=0"], "data.labeled_fraction=0 is not allowed; it must be a number in (0, 1]"),
    (["data.labeled_fraction=0.5", "data.loader=torchvision"], "data.loader=torchvision cannot hide labels"),
    (["data=multidomain", "data.domains=[mnist]"], "data.domains=['mnist'] is not allowed"),
    (["data=multidomain", "data.domains=[mnist,mnist]"], "two or more different datasets"),
    (["data=multidomain", "data.label=style"], "data.label='style' is not allowed; it must be one of class, domain"),
])
def test_bad_model_variant_settings_are_refused_at_start_up(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_train_config(compose_train(*overrides))


@pytest.mark.parametrize("seed", range(5))
def test_interpolation_pairs_always_cross_groups_even_on_a_tiny_test_split(seed):
    groups = torch.tensor([0, 0, 0, 1])
    pairs = pairs_differing_in(groups, count=4, generator=torch.Generator().manual_seed(seed))
    assert len(pairs) == 1 and groups[pairs[0][0]] != groups[pairs[0][1]]


def test_interpolation_pairs_use_each_image_once():
    groups = torch.arange(20) % 2
    pairs = pairs_differing_in(groups, count=6, generator=torch.Generator().manual_seed(0))
    images = [index for pair in pairs for index in pair]
    assert len(pairs) == 6 and len(set(images)) == 12
    assert all(groups[a] != groups[b] for a, b in pairs)
