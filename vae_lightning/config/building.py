"""Objects from config nodes, built the same way by training and by the start-up config check."""

import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from lightning import LightningDataModule
from omegaconf import DictConfig

from vae_lightning.errors import ConfigError, VAELightningError


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


# The optimiser settings every model takes from cfg.optimizer.
OPTIMIZER_ARGUMENTS = {"optimizer": "name", "lr": "lr", "weight_decay": "weight_decay"}


def model_class(node: DictConfig) -> type:
    """The class `node._target_` names (a model config's class, before anything is built)."""
    return get_class(node._target_)


def supplied_by_code(cls: type) -> tuple[str, ...]:
    """The constructor arguments of a model class that the code passes itself, so they are not model settings; none
    for a class that is not a model (it has no `needs_from_data`)."""
    if not hasattr(cls, "needs_from_data"):
        return ()
    return (*cls.needs_from_data, *OPTIMIZER_ARGUMENTS)


def build_model(model: DictConfig, optimizer: DictConfig, datamodule: LightningDataModule) -> Any:
    """The LightningModule of a model config, given what it `needs_from_data` and the optimiser settings."""
    available = datamodule.model_inputs()
    needs = model_class(model).needs_from_data
    missing = [name for name in needs if name not in available]
    if missing:
        raise ConfigError(
            f"model={model._target_} needs {', '.join(missing)} from its data, which data={datamodule.hparams.name} "
            f"does not provide (it provides {', '.join(available)}). Pick data this model can use, or another model."
        )
    built = build(model, **{name: available[name]() for name in needs},
                  **{argument: optimizer[key] for argument, key in OPTIMIZER_ARGUMENTS.items()})
    labeled_fraction = datamodule.hparams.get("labeled_fraction", 1.0)
    if built.conditional and labeled_fraction < 1:
        raise ConfigError(
            f"A conditional model needs the label of every training image, but data.labeled_fraction="
            f"{labeled_fraction} hides the others. Use data.labeled_fraction=1, or model=vae_classifier for the "
            "semi-supervised setting."
        )
    return built


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
