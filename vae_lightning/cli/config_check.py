"""Check a composed training config before anything runs: every `_target_` node against its class's signature, then
the value rules of the classes the config builds.

Hydra and the structured configs of vae_lightning/config/schema.py refuse a misspelt key or a wrongly typed run-level
or trainer setting while composing; this catches the rest — a key or type that the class a node builds does not take,
β < 0, an image the architecture cannot halve — while nothing has been read or written yet, so a typo costs a second
and leaves no half-made run directory behind.
"""

import math
import os
from collections.abc import Iterator, Mapping
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from vae_lightning.analysis.job import check_analysis_overrides
from vae_lightning.analysis.sample_quality.numbers import can_sample
from vae_lightning.config.class_schema import class_schema
from vae_lightning.config.messages import REFUSED_SETTING, refused_setting
from vae_lightning.config.schema import train_schema
from vae_lightning.engine.building import build, model_class, supplied_by_code
from vae_lightning.engine.module import build_engine
from vae_lightning.engine.precision import choose_precision
from vae_lightning.errors import ConfigError
from vae_lightning.models.vae import VAE


def validate_train_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad key, its value and what is allowed; return quietly otherwise."""
    check_nothing_missing(check_typed(cfg, train_schema(), prefix=""))
    for prefix, node in dict_nodes(cfg):
        if "_target_" in node:
            check_against_class(node, prefix)
    check_numbers_finite(cfg)
    check_run_settings(cfg)
    check_values(cfg)
    check_checkpoint_monitors(cfg)


def check_typed(node: DictConfig, schema: DictConfig, prefix: str, owner: str | None = None) -> DictConfig:
    """`node`'s values merged into the structured config `schema`, so OmegaConf refuses a key it does not have or a
    value not of its key's type (as plain values: a node typed by vae_lightning/config/schema.py merges only into
    its own type). Hydra's composition checks the command line in the same way but lets a `+key=value` through."""
    try:
        return OmegaConf.merge(schema, OmegaConf.to_container(node, resolve=False))
    except REFUSED_SETTING as error:
        raise refused_setting(error, prefix, owner) from None


def check_nothing_missing(cfg: DictConfig) -> None:
    """Every setting has a value: none was removed (`~seed`) or left `???`."""
    missing = [f"{prefix}{key}" for prefix, node in dict_nodes(cfg) for key in node if OmegaConf.is_missing(node, key)]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} has no value. Give it one on the command line (key=value), or restore it in the "
            "YAML file it comes from."
        )


def dict_nodes(node: DictConfig, prefix: str = "") -> Iterator[tuple[str, DictConfig]]:
    """`node` and every dict node below it, each with the dotted prefix of its keys; no interpolation is resolved."""
    yield prefix, node
    for key in node:
        if OmegaConf.is_missing(node, key) or OmegaConf.is_interpolation(node, key):
            continue
        if isinstance(child := node[key], DictConfig):
            yield from dict_nodes(child, f"{prefix}{key}.")


def check_against_class(node: DictConfig, prefix: str) -> None:
    """A `_target_` node's keys are the arguments of its class, typed by their annotations (see class_schema); the
    arguments the code passes itself (what a model needs from its data) are not settings."""
    target = _target_class(node, prefix)
    check_typed(node, class_schema(target, leave_out=supplied_by_code(target)), prefix, owner=node._target_)


def _target_class(node: DictConfig, prefix: str) -> type:
    try:
        return get_class(node._target_)
    except Exception as error:  # Hydra raises ImportError or ValueError wrapped in its own types
        raise ConfigError(
            f"{prefix}_target_={node.get('_target_')!r} is not a class that can be imported ({error}). Pick one of "
            f"the shipped {prefix.rstrip('.')} configs, or give the full import path of your own class."
        ) from error


# float32's largest value: the model computes in float32, so a larger setting becomes infinity inside it.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)
# Every integer setting ends up in torch or numpy as a 64-bit integer; a larger one overflows there.
INT64_MAX = int(torch.iinfo(torch.int64).max)
# numpy's and Lightning's seeds are unsigned 32-bit integers.
SEED_RANGE = (0, 2**32 - 1)
# torch starts one OS thread per count: beyond this many, a typo such as threads=100000 exhausts memory.
MAX_THREADS = 1024


def check_numbers_finite(node: Any, prefix: str = "") -> None:
    """Every number of the config fits the type it becomes: NaN slips through every range check (all comparisons
    with it are false), an infinite β, learning rate or σ trains nothing but NaN, a float above float32's range
    becomes infinite inside the model, and an integer literal beyond 64 bits (model.beta=10**42 written out)
    overflows wherever torch or numpy first holds it."""
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
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
            raise ConfigError(
                f"{name}={value} is not allowed: it has {len(str(abs(value)))} digits, and every integer must be "
                f"within ±{INT64_MAX} (a 64-bit integer, what torch and numpy hold it in). Set a smaller value."
            )


def check_run_settings(cfg: DictConfig) -> None:
    """The run-level settings that have no class to check them: the thread count and the analysis overrides."""
    if cfg.threads is not None and not 1 <= cfg.threads <= MAX_THREADS:
        raise ConfigError(
            f"threads={cfg.threads} is not allowed: it must be null (torch's default, all cores) or an integer from 1 "
            f"to {MAX_THREADS} (torch starts one thread per count; this machine has {os.cpu_count()} cores)."
        )
    if not SEED_RANGE[0] <= cfg.seed <= SEED_RANGE[1]:
        raise ConfigError(
            f"seed={cfg.seed} is not allowed: numpy and Lightning take seeds from {SEED_RANGE[0]} to {SEED_RANGE[1]} "
            "(an unsigned 32-bit integer). Pick a seed in that range, e.g. seed=0."
        )
    if cfg.analyze and not issubclass(model_class(cfg.model), VAE) and not can_sample(model_class(cfg.model)):
        raise ConfigError(
            f"analyze=true analyses a VAE's latent space or a model's samples, and model {cfg.model._target_} has no "
            "encoder (it is not a subclass of vae_lightning.models.VAE) and cannot draw samples (no `sample` "
            "method). Drop analyze=true."
        )
    check_analysis_overrides(cfg.analysis)


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
    if (lr := cfg.optimizer.get("lr")) is not None and lr <= 0:
        raise ConfigError(f"optimizer.lr={lr!r} is not allowed: the learning rate must be > 0.")
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
