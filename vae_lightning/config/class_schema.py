"""The schema of a node that builds a class (`_target_`), read from the class itself: one field per argument of its
constructor, typed by the argument's annotation where OmegaConf can check that type. The class is the schema, so a
new model, data module or callback is checked the moment it exists, with no second description to keep in step.
"""

import dataclasses
import inspect
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigValueError, ValidationError

from vae_lightning.engine.building import constructor_parameters

# Hydra's own keys of a `_target_` node, which are not arguments of the class it builds.
INSTANTIATE_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")


def class_schema(cls: type, leave_out: Sequence[str] = ()) -> DictConfig:
    """The structured config of a `_target_` node building `cls`, without the arguments in `leave_out`; open to any
    key when `cls` takes any keyword (see accepts_any_keyword)."""
    hints = constructor_hints(cls)
    arguments = {name: hints.get(name, Any) for name in constructor_parameters(cls) if name not in leave_out}
    schema = structured_schema(f"{cls.__name__}Arguments", {key: Any for key in INSTANTIATE_KEYS} | arguments)
    if accepts_any_keyword(cls):
        OmegaConf.set_struct(schema, False)
    return schema


def structured_schema(name: str, fields: Mapping[str, Any]) -> DictConfig:
    """A structured config with one field per entry of `fields` (name → annotation), each annotation as OmegaConf
    can check it (see omegaconf_type)."""
    return OmegaConf.structured(dataclasses.make_dataclass(
        name, [(key, omegaconf_type(hint), dataclasses.field(default=MISSING)) for key, hint in fields.items()]))


def omegaconf_type(hint: Any) -> Any:
    """`hint` as an OmegaConf field type: a `Sequence[T]` as a `list[T]`, and `Any` for an annotation OmegaConf
    cannot check (a Literal, a Tensor, a callable), whose values the class's own checks see when it is built."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = typing.Union[tuple(option if option is type(None) else omegaconf_type(option)  # noqa: UP007
                                  for option in typing.get_args(hint))]
    elif typing.get_origin(hint) is Sequence:
        hint = list[typing.get_args(hint)[0]]
    try:
        OmegaConf.structured(dataclasses.make_dataclass("Probe", [("value", hint, dataclasses.field(default=MISSING))]))
    except (ValidationError, ConfigValueError):
        return Any
    return hint


def constructor_hints(cls: type) -> dict[str, Any]:
    """The annotations of the arguments of `cls(...)`, a subclass's winning over its parent's; none from an
    `__init__` whose annotations name what cannot be imported."""
    hints: dict[str, Any] = {}
    for klass in _keyword_chain(cls):
        try:
            hints = typing.get_type_hints(klass.__init__) | hints
        except (NameError, TypeError):
            continue
    return hints


def accepts_any_keyword(cls: type) -> bool:
    """Whether `cls(...)` takes keywords besides its named arguments: no `__init__` on its keyword chain (see
    _keyword_chain) closes it."""
    return all(_takes_any_keyword(klass) for klass in _keyword_chain(cls))


def _keyword_chain(cls: type) -> Iterator[type]:
    """The classes whose `__init__` receives the keywords of `cls(...)`: its own, then each parent's while the
    `__init__` before passes `**kwargs` on (as constructor_parameters reads them)."""
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and klass is not object:
            yield klass
            if not _takes_any_keyword(klass):
                return


def _takes_any_keyword(klass: type) -> bool:
    parameters = inspect.signature(klass.__init__).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
