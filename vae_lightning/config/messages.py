"""One paragraph for a setting Hydra or OmegaConf refused — the key, what it must be, and the setting or option that
was probably meant — read from the exception objects, which carry the key, the value and the node it was refused in.
"""

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from vae_lightning.errors import ConfigError

# What OmegaConf raises for a key its config does not have (ConfigAttributeError for attribute-style access), and for
# a value it cannot convert to the key's type.
REFUSED_SETTING = (ConfigKeyError, ConfigAttributeError, ValidationError)
TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null"}


def refused_setting(error: ConfigKeyError | ConfigAttributeError | ValidationError, prefix: str = "",
                    owner: str | None = None) -> ConfigError:
    """The ConfigError for `error`, naming its key below `prefix`; `owner` is the class whose arguments the node's
    keys are, when they are (a `_target_` node)."""
    key = f"{prefix}{error.full_key}"
    if isinstance(error, ValidationError):
        setting, allowed = expected_type(error)
        subject = "it" if setting == str(error.full_key) else prefix + setting
        return ConfigError(f"{key}={error.value!r} is not allowed: {subject} must be {allowed}.")
    return unknown_key(key, error.parent_node.keys() if isinstance(error.parent_node, DictConfig) else (), owner)


def expected_type(error: ValidationError) -> tuple[str, str]:
    """The key whose type a value did not have, and that type in words: the key itself for a field of a structured
    config, the list for an item of a typed list."""
    if dataclasses.is_dataclass(error.object_type):
        return str(error.full_key), in_words(typing.get_type_hints(error.object_type)[error.key])
    return str(error.full_key).rpartition("[")[0], in_words(error.ref_type)  # `ref_type`: the list's type


def in_words(hint: Any) -> str:
    """A type annotation as the messages say it: `int | None` → "an integer or null"."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if float in options:  # an integer is a number too
        options = tuple(option for option in options if option is not int)
    if len(options) > 1:
        return " or ".join(in_words(option) for option in sorted(options, key=lambda option: option is type(None)))
    (hint,) = options
    if typing.get_origin(hint) is list:
        item = TYPE_WORDS.get(typing.get_args(hint)[0], "")
        return f"a list of {item.removeprefix('an ').removeprefix('a ')}s" if item.startswith("a") else "a list"
    return TYPE_WORDS.get(hint, getattr(hint, "__name__", str(hint)))


def unknown_key(key: str, known: Iterable[Any], owner: str | None = None) -> ConfigError:
    """`key` is not among `known`, the keys beside it: the closest of them, and all of them (Hydra's own `_x_` keys
    left out)."""
    parent, _, leaf = key.rpartition(".")
    names = sorted(str(name) for name in known if not str(name).startswith("_") and name != "hydra")
    closest = difflib.get_close_matches(leaf, names, n=1)
    meant = f" Did you mean {parent + '.' if parent else ''}{closest[0]}?" if closest else ""
    if owner is not None:
        return ConfigError(f"{key} is not an argument of {owner} (a misspelling?).{meant} Its arguments are: "
                           f"{', '.join(names)}.")
    listing = f" The settings {f'of {parent} ' if parent else ''}are: {', '.join(names)}." if names else ""
    return ConfigError(f"{key} is not a setting (a misspelling?).{meant}{listing}")


def unknown_option(group: str, option: str, options: Iterable[str]) -> ConfigError:
    """`group=option` names no config of that group: the closest option, and all of them."""
    options = sorted(options)
    closest = difflib.get_close_matches(option, options, n=1)
    meant = f" Did you mean {group}={closest[0]}?" if closest else ""
    return ConfigError(f"{group}={option} is not an option of {group} (a misspelling?).{meant} The options of "
                       f"{group} are: {', '.join(options)}.")


def composition_error(error: ConfigCompositionException, command: str) -> ConfigError | None:
    """The project's message for a command line Hydra could not compose into the config of `python -m <command>`:
    an unknown option of a config group, a key the config does not have, or a value of the wrong type. None for
    any other composition error, which Hydra's own text describes."""
    if isinstance(error, MissingConfigException) and error.options and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        return unknown_option(group, option, error.options)
    # Hydra raises ConfigCompositionException "from" the OmegaConf error of the override it could not apply.
    if isinstance(error.__cause__, REFUSED_SETTING) and error.__cause__.full_key:
        return ConfigError(f"{refused_setting(error.__cause__)} `python -m {command} --cfg job` prints every "
                           "setting.")
    return None
