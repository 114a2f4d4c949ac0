"""Check a composed training config before anything runs: typed schemas for every group, then the value rules of the
classes the config builds.

Hydra reports YAML syntax and unknown config groups itself; this catches the rest — a misspelt key, a string where a
number belongs, β < 0, an image the architecture cannot halve — while nothing has been read or written yet, so a
typo costs a second and leaves no half-made run directory behind.
"""

import collections.abc
import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from vae_lightning.analysis.job import analysis_config
from vae_lightning.engine.building import build, constructor_parameters, model_class, supplied_by_code
from vae_lightning.engine.module import build_engine
from vae_lightning.engine.precision import choose_precision
from vae_lightning.errors import ConfigError
from vae_lightning.models.vae import VAE


@dataclasses.dataclass
class TrainerSchema:
    """The Trainer arguments conf/trainer/*.yaml set; any other (added with +trainer.x=) is checked by signature."""

    _target_: str
    accelerator: str
    devices: Any  # an integer, a list of device indices, or "auto"
    max_epochs: int
    max_steps: int
    precision: str | int
    log_every_n_steps: int
    check_val_every_n_epoch: int
    limit_train_batches: int | float | None  # an integer counts batches, a float is a fraction of the epoch
    limit_val_batches: int | float | None
    limit_test_batches: int | float | None
    enable_progress_bar: bool
    deterministic: bool | str
    default_root_dir: str


@dataclasses.dataclass
class RunSchema:
    seed: int
    ckpt_path: str | None
    resume: str | None
    redo: bool
    analyze: bool
    analysis: list[str]
    threads: int | None


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def validate_train_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad key, its value and what is allowed; return quietly otherwise."""
    groups = ("data", "model", "optimizer", "scheduler", "trainer", "logger", "callbacks")
    check_against_schema({key: cfg[key] for key in cfg if key not in groups}, RunSchema, prefix="")
    # Third-party classes with open-ended arguments: every key must at least be an argument of the class.
    check_against_signature(cfg.optimizer, prefix="optimizer.")
    if cfg.get("scheduler") is not None:
        check_against_signature(cfg.scheduler, prefix="scheduler.")
    check_against_class(cfg.data, prefix="data.")
    check_against_class(cfg.model, prefix="model.", supplied_by_code=supplied_by_code)
    check_against_schema(cfg.trainer, TrainerSchema, prefix="trainer.", extra_keys_allowed=True)
    check_against_signature(cfg.trainer, prefix="trainer.")
    check_against_signature(cfg.logger, prefix="logger.")
    for name, node in cfg.callbacks.items():
        check_against_signature(node, prefix=f"callbacks.{name}.")
    check_numbers_finite(cfg)
    check_run_settings(cfg)
    check_values(cfg)
    check_checkpoint_monitors(cfg)


def check_against_schema(node: Mapping[str, Any], schema: type | Mapping[str, Any], prefix: str,
                         extra_keys_allowed: bool = False, all_required: bool = True) -> None:
    """Every key known to `schema` (a dataclass, or field name → type) and of its type; `all_required` when the
    config must set every field rather than fall back on the class's defaults."""
    fields = schema if isinstance(schema, Mapping) else {f.name: f.type for f in dataclasses.fields(schema)}
    for key in node:
        if key not in fields and not extra_keys_allowed:
            raise ConfigError(
                f"{prefix}{key} is not a setting of this config (a misspelling?). The settings are: "
                f"{', '.join(prefix + name for name in fields if name != '_target_')}."
            )
    for key, expected in fields.items():
        if key not in node:
            if not all_required:
                continue
            raise ConfigError(f"{prefix}{key} is missing from the config; restore it in the group's YAML file.")
        value = _plain(node, key)
        if value is _RESOLVED_LATER:
            continue
        if not _matches(value, expected):
            raise ConfigError(f"{prefix}{key}={value!r} is not allowed: it must be {_describe(expected)}.")


def check_against_class(node: DictConfig, prefix: str,
                        supplied_by_code: Callable[[type], tuple[str, ...]] = lambda cls: ()) -> None:
    """A group of our own classes: its keys are the arguments of its `_target_`, typed by their annotations, so a
    new model or data module is checked the moment it exists, with no schema to keep in step."""
    target = _target_class(node, prefix)
    hints: dict[str, Any] = {}
    for klass in reversed(target.__mro__):  # a subclass's annotation wins over its parent's
        if "__init__" in vars(klass):
            hints |= typing.get_type_hints(klass.__init__)
    fields = {"_target_": str} | {name: hints.get(name, Any) for name in constructor_parameters(target)
                                  if name not in supplied_by_code(target)}
    check_against_schema(node, fields, prefix, all_required=False)


def _target_class(node: DictConfig, prefix: str) -> type:
    try:
        return get_class(node._target_)
    except Exception as error:  # Hydra raises ImportError or ValueError wrapped in its own types
        raise ConfigError(
            f"{prefix}_target_={node.get('_target_')!r} is not a class that can be imported ({error}). Pick one of "
            f"the shipped {prefix.rstrip('.')} configs, or give the full import path of your own class."
        ) from error


def check_against_signature(node: DictConfig, prefix: str) -> None:
    """Every key of a `_target_` node must be an argument of the class it builds."""
    target = get_class(node._target_)
    parameters = inspect.signature(target.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    for key in node:
        if key not in ("_target_", "_partial_") and key not in parameters:
            raise ConfigError(
                f"{prefix}{key} is not an argument of {node._target_} (a misspelling?). See that class's "
                "documentation for the arguments it takes."
            )


# float32's largest value: the model computes in float32, so a larger setting becomes infinity inside it.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def check_numbers_finite(node: Any, prefix: str = "") -> None:
    """Every number of the config is finite and fits float32: NaN slips through every range check (all comparisons
    with it are false) and an infinite β, learning rate or σ trains nothing but NaN."""
    keys = list(node.keys()) if isinstance(node, Mapping) else range(len(node))
    for key in keys:
        name = f"{prefix}{key}" if isinstance(node, Mapping) else f"{prefix.rstrip('.')}[{key}]"
        value = _plain(node, key)
        if isinstance(value, Mapping | list) or OmegaConf.is_config(value):
            check_numbers_finite(node[key], f"{name}.")
        elif isinstance(value, float) and not (math.isfinite(value) and abs(value) <= FLOAT32_MAX):
            raise ConfigError(
                f"{name}={value!r} is not allowed: every number must be finite and within ±{FLOAT32_MAX:.3g} "
                "(float32, the precision the model computes in). Set it to a finite value."
            )


def check_run_settings(cfg: DictConfig) -> None:
    """The run-level settings that have no class to check them: the thread count and the analysis overrides."""
    if cfg.threads is not None and cfg.threads < 1:
        raise ConfigError(
            f"threads={cfg.threads} is not allowed: it must be null (torch's default, all cores) or an integer ≥ 1."
        )
    if cfg.analyze and not issubclass(model_class(cfg.model), VAE):
        raise ConfigError(
            f"analyze=true analyses a VAE's latent space, and model {cfg.model._target_} has no encoder (it is not a "
            "subclass of vae_lightning.models.VAE). Drop analyze=true; the model's samples are in TensorBoard."
        )
    check_analysis_overrides(cfg.analysis)


def check_analysis_overrides(overrides: list[str]) -> None:
    """Each `analysis=[...]` entry is `key=value` with a key of analyze.yaml and a value of that key's type, so a
    typo fails now rather than after training, when the analysis starts."""
    defaults = analysis_config("<run>")
    for override in overrides:
        key, sep, _ = override.partition("=")
        if not sep or OmegaConf.select(defaults, key, default=_UNKNOWN) is _UNKNOWN:
            raise ConfigError(
                f"analysis entry {override!r} is not allowed: it must be key=value with a key of analyze.yaml "
                "(vae_lightning/conf/analyze.yaml), e.g. 'analysis=[\"iwae.num_images=1000\"]'."
            )
        default = OmegaConf.select(defaults, key)
        value = OmegaConf.select(OmegaConf.from_dotlist([override]), key)
        if default is not None and not OmegaConf.is_config(default) and value is not None \
                and not _matches(value, type(default)):
            raise ConfigError(
                f"analysis entry {override!r} is not allowed: analyze.yaml's {key} must be "
                f"{_describe(type(default))} (its default is {default!r})."
            )


_UNKNOWN = object()


def check_checkpoint_monitors(cfg: DictConfig) -> None:
    """A checkpoint callback's `monitor` names a quantity the model logs (`val/<term>` or `train/<term>`): a
    misspelt one would otherwise fail only when the first epoch ends."""
    terms = model_class(cfg.model).term_descriptions
    allowed = [f"{stage}/{term}" for stage in ("val", "train") for term in terms]
    for name, node in cfg.callbacks.items():
        monitor = node.get("monitor")
        if monitor is not None and issubclass(get_class(node._target_), ModelCheckpoint) and monitor not in allowed:
            raise ConfigError(
                f"callbacks.{name}.monitor={monitor!r} is not a quantity this model logs (a misspelling?). Use one "
                f"of {', '.join(allowed)}, or null to keep the latest epoch."
            )


def check_values(cfg: DictConfig) -> None:
    """Build the data module, the model, its optimisers and the trainer without data or output, so their own rules
    run now."""
    engine = build_engine(cfg.model, cfg.optimizer, cfg.get("scheduler"), build(cfg.data))  # no data is read
    lightning_loop_only = [key for key in ("gradient_clip_val", "accumulate_grad_batches")
                           if cfg.trainer.get(key) not in (None, 0, 1)]
    if lightning_loop_only and not engine.automatic_optimization:
        raise ConfigError(
            f"trainer.{lightning_loop_only[0]} applies to a model with one optimised loss, which trains through "
            f"Lightning's own loop; {cfg.model._target_} optimises {len(engine.optimised_terms)} "
            f"({', '.join(engine.optimised_terms)}), each stepped by the engine. Drop "
            f"+trainer.{lightning_loop_only[0]}."
        )
    try:
        engine.configure_optimizers()
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"The optimizer or scheduler settings were refused by torch: {str(error).splitlines()[0]}. Fix the "
            "optimizer.<key> or scheduler.<key> named there (see conf/optimizer/ and conf/scheduler/)."
        ) from error
    _check_trainer(cfg.trainer)


def _check_trainer(node: DictConfig) -> None:
    settings = OmegaConf.to_container(node, resolve=False)
    settings.pop("_target_")
    settings.pop("default_root_dir", None)  # resolved only once Hydra has made the run directory
    settings["precision"] = choose_precision(settings["precision"], settings["accelerator"]).precision
    try:
        L.Trainer(**settings, logger=False, enable_checkpointing=False, enable_model_summary=False)
    except (MisconfigurationException, ValueError, TypeError) as error:
        raise ConfigError(
            f"The trainer settings were refused by Lightning: {str(error).splitlines()[0]} Fix the trainer.<key> "
            "named there (see conf/trainer/default.yaml), or pick another trainer config, e.g. trainer=default."
        ) from error


_RESOLVED_LATER = object()


def _plain(node: Mapping[str, Any], key: str) -> Any:
    """The value as plain Python, or `_RESOLVED_LATER` for an interpolation that only Hydra's job can resolve,
    such as `${hydra:runtime.output_dir}` before the run directory exists."""
    try:
        value = node[key]
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    except InterpolationResolutionError:
        return _RESOLVED_LATER


def _matches(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(expected))
    if origin in (list, tuple, collections.abc.Sequence):
        item = typing.get_args(expected)[0]
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if expected is Any:
        return True
    if expected is type(None):
        return value is None
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _describe(expected: Any) -> str:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if t is type(None) else _describe(t) for t in typing.get_args(expected))
    if origin in (list, tuple, collections.abc.Sequence):
        return f"a list of {_describe(typing.get_args(expected)[0]).removeprefix('an ').removeprefix('a ')}s"
    return _TYPE_WORDS.get(expected, expected.__name__)
