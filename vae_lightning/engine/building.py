"""Objects from config nodes, built the same way by training and by the start-up config check."""

import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig

from vae_lightning.errors import VAELightningError


def build(node: DictConfig, **kwargs: Any) -> Any:
    """`hydra.utils.instantiate` with plain Python containers, re-raising our own errors unwrapped.

    Hydra wraps every constructor error in an InstantiationException; a ConfigError must reach the user as itself.
    """
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, VAELightningError):
            raise error.__cause__ from None
        raise


def model_class(node: DictConfig) -> type:
    """The class `node._target_` names (a model config's class, before anything is built)."""
    return get_class(node._target_)


def supplied_by_code(cls: type) -> tuple[str, ...]:
    """The constructor arguments of a model class that the data supplies, so they are not model settings."""
    return tuple(getattr(cls, "needs_from_data", ()))


def constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword arguments `cls(...)` accepts, following `**kwargs` that an `__init__` passes on to its parent."""
    parameters: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        own = inspect.signature(klass.__init__).parameters
        parameters |= {name: p for name, p in own.items() if name != "self" and p.kind not in
                       (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) and name not in parameters}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in own.values()):
            break
    return parameters
