"""The structured configs of vae_lightning/config/schema.py and the checks built on them: Hydra refuses a misspelt
key or a wrongly typed value while composing, every `_target_` node is typed by its class's signature, and each
refusal is one paragraph naming what was probably meant."""

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import vae_lightning.train  # registers the schemas and resolvers the configs name
from vae_lightning.analysis.job import analysis_config, check_analysis_overrides
from vae_lightning.cli.config_check import check_against_class, validate_train_config
from vae_lightning.config.messages import composition_error, in_words
from vae_lightning.config.schema import AnalyzeSettings, ReportSettings, TrainerSettings, TrainSettings
from vae_lightning.errors import ConfigError

CONF_DIR = Path(vae_lightning.train.__file__).parent / "conf"


def _compose(config_name: str, *overrides: str):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(config_name, overrides=list(overrides))


def _refusal(config_name: str, *overrides: str) -> str:
    """The command line's message for overrides Hydra cannot compose."""
    with pytest.raises(ConfigCompositionException) as refused:
        _compose(config_name, *overrides)
    message = composition_error(refused.value, f"vae_lightning.{config_name}")
    assert message is not None, refused.value
    return str(message)


def _check_refuses(node: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_against_class(OmegaConf.create(node), "toy.")


@pytest.mark.parametrize(("config_name", "schema"),
                         [("train", TrainSettings), ("analyze", AnalyzeSettings), ("report", ReportSettings)])
def test_each_entry_points_config_is_typed_by_its_schema(config_name, schema):
    assert OmegaConf.get_type(_compose(config_name)) is schema


def test_the_trainer_node_is_typed_by_its_schema():
    assert OmegaConf.get_type(_compose("train").trainer) is TrainerSettings


@pytest.mark.parametrize(("override", "message"), [
    ("seed=abc", "seed='abc' is not allowed: it must be an integer."),
    ("seed=1.5", "seed=1.5 is not allowed: it must be an integer."),
    ("redo=maybe", "redo='maybe' is not allowed: it must be true or false."),
    ("threads=two", "threads='two' is not allowed: it must be an integer or null."),
    ("ckpt_path=[a]", "ckpt_path=['a'] is not allowed: it must be a string or null."),
    ("analysis=abc", "analysis='abc' is not allowed: it must be a list of strings."),
    ("trainer.max_epochs=x", "trainer.max_epochs='x' is not allowed: it must be an integer or null."),
    ("trainer.limit_train_batches=some", "trainer.limit_train_batches='some' is not allowed: it must be a number or "
                                         "null."),
])
def test_a_wrongly_typed_setting_is_refused_while_composing(override, message):
    assert _refusal("train", override).startswith(message)


@pytest.mark.parametrize(("config_name", "overrides", "message"), [
    ("train", ["model.betaa=1"], "model.betaa is not a setting (a misspelling?). Did you mean model.beta?"),
    ("train", ["sed=3"], "sed is not a setting (a misspelling?). Did you mean seed?"),
    ("train", ["modle.beta=4"], "modle is not a setting (a misspelling?). Did you mean model?"),
    ("train", ["model=cvae", "model.conditionng=onehot"], "Did you mean model.conditioning?"),
    ("analyze", ["iwae.num_sampels=4"], "iwae.num_sampels is not a setting (a misspelling?). Did you mean "
                                        "iwae.num_samples?"),
    ("report", ["analyze_mising=false"], "Did you mean analyze_missing?"),
])
def test_a_misspelt_key_is_refused_while_composing_with_the_setting_meant(config_name, overrides, message):
    assert message in _refusal(config_name, *overrides)


def test_a_misspelt_key_lists_the_settings_beside_it_and_how_to_print_them_all():
    message = _refusal("train", "model.betaa=1")
    assert "The settings of model are: beta, capacity_max, capacity_steps, channels," in message
    assert "_target_" not in message
    assert message.endswith("`python -m vae_lightning.train --cfg job` prints every setting.")


def test_an_unknown_option_of_a_group_suggests_the_closest_and_lists_them_all():
    assert _refusal("train", "data=fasion") == (
        "data=fasion is not an option of data (a misspelling?). Did you mean data=fashion? The options of data are: "
        "celeba, dsprites, fashion, image_folder, mnist, multidomain.")
    assert "Did you mean hydra/launcher=parallel?" in _refusal("train", "hydra/launcher=paralel")


def test_other_composition_errors_keep_hydras_own_text():
    with pytest.raises(ConfigCompositionException) as refused:
        _compose("train", "+seed=1")  # "An item is already at 'seed'": Hydra says what to do
    assert composition_error(refused.value, "vae_lightning.train") is None


def test_any_other_trainer_argument_can_be_added_and_is_typed_by_lightnings_signature():
    validate_train_config(_compose("train", "+trainer.gradient_clip_val=1.0"))
    assert _compose("train", "experiment=dsprites_study").trainer.val_check_interval == 1000
    with pytest.raises(ConfigError, match=re.escape(
            "trainer.gradient_clip_val='abc' is not allowed: it must be a number or null.")):
        validate_train_config(_compose("train", "+trainer.gradient_clip_val=abc"))


def test_a_misspelt_trainer_argument_names_the_lightning_argument_meant():
    with pytest.raises(ConfigError, match=re.escape(
            "trainer.max_epoch is not an argument of lightning.pytorch.Trainer (a misspelling?). Did you mean "
            "trainer.max_epochs?")):
        validate_train_config(_compose("train", "trainer.max_epoch=3"))


def test_a_top_level_key_added_with_a_plus_is_refused_before_the_run():
    with pytest.raises(ConfigError, match=re.escape("seed2 is not a setting (a misspelling?). Did you mean seed?")):
        validate_train_config(_compose("train", "+seed2=1"))


class Toy:
    def __init__(self, rate: float, sizes: Sequence[int] | None = None, mode: Literal["a", "b"] = "a",
                 count: int = 1) -> None:
        self.rate = rate


class PassesKeywordsOn(Toy):
    def __init__(self, scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)


class TakesAnyKeyword:
    def __init__(self, rate: float = 1.0, **options: Any) -> None:
        self.options = options


TOY = f"{__name__}.Toy"


@pytest.mark.parametrize(("setting", "message"), [
    ({"rate": "x"}, "toy.rate='x' is not allowed: it must be a number."),
    ({"count": 1.5}, "toy.count=1.5 is not allowed: it must be an integer."),
    ({"count": True}, "toy.count=True is not allowed: it must be an integer."),
    ({"sizes": "abc"}, "toy.sizes='abc' is not allowed: it must be a list of integers or null."),
    ({"sizes": [1, "a"]}, "toy.sizes[1]='a' is not allowed: toy.sizes must be a list of integers or null."),
    ({"rat": 1.0}, f"toy.rat is not an argument of {TOY} (a misspelling?). Did you mean toy.rate? Its arguments "
                   "are: count, mode, rate, sizes."),
])
def test_a_target_node_takes_the_arguments_of_its_class_typed_by_their_annotations(setting, message):
    _check_refuses({"_target_": TOY, **setting}, message)


def test_annotations_omegaconf_cannot_type_and_interpolations_are_left_to_the_class():
    check_against_class(OmegaConf.create({"_target_": TOY, "rate": "${seed}", "mode": "c", "sizes": None}), "toy.")


def test_keywords_passed_on_to_the_parent_class_are_its_arguments():
    node = {"_target_": f"{__name__}.PassesKeywordsOn", "scale": 2.0, "rate": 1.0}
    check_against_class(OmegaConf.create(node), "toy.")
    _check_refuses({**node, "rat": 1.0}, "toy.rat is not an argument")
    check_against_class(OmegaConf.create({"_target_": f"{__name__}.TakesAnyKeyword", "colour": "red"}), "toy.")


def test_a_partial_optimizer_node_is_checked_against_its_torch_class():
    node = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3, "weight_decay": 0.0}
    check_against_class(OmegaConf.create(node), "optimizer.")
    with pytest.raises(ConfigError, match=re.escape("Did you mean optimizer.lr?")):
        check_against_class(OmegaConf.create({**node, "lrr": 1e-3}), "optimizer.")


@pytest.mark.parametrize(("hint", "words"), [
    (int, "an integer"), (float | int | None, "a number or null"), (int | None, "an integer or null"),
    (bool | str, "true or false or a string"), (list[str], "a list of strings"), (list[Any], "a list"),
])
def test_types_are_named_in_words(hint, words):
    assert in_words(hint) == words


def test_analysis_settings_are_typed_by_the_analyze_schema():
    cfg = analysis_config("run", ["latent_map.tsne=true", "iwae.num_images=null"])
    assert OmegaConf.get_type(cfg) is AnalyzeSettings
    assert cfg.run == "run" and cfg.latent_map.tsne is True and cfg.iwae.num_images is None
    with pytest.raises(ConfigError, match=re.escape(
            "analysis entry 'iwae.num_images=abc' is not allowed: analyze.yaml's iwae.num_images must be an integer "
            "or null.")):
        check_analysis_overrides(["iwae.num_images=abc"])


def test_a_setting_removed_from_the_config_is_refused_before_the_run():
    with pytest.raises(ConfigError, match=re.escape("seed has no value.")):
        validate_train_config(_compose("train", "~seed"))
