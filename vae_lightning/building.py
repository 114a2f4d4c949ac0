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


def build_model(cfg: DictConfig, datamodule: LightningDataModule) -> Any:
    """The LightningModule of `cfg.model` for the data module's images (and classes, for a model that uses labels),
    with the optimiser settings of `cfg.optimizer`."""
    from_data: dict[str, Any] = {"image_shape": list(datamodule.image_shape)}
    if "num_classes" in constructor_parameters(get_class(cfg.model._target_)):
        from_data["num_classes"] = len(datamodule.class_names)
    model = build(cfg.model, **from_data, optimizer=cfg.optimizer.name, lr=cfg.optimizer.lr,
                  weight_decay=cfg.optimizer.weight_decay)
    labeled_fraction = datamodule.hparams.get("labeled_fraction", 1.0)
    if model.conditional and labeled_fraction < 1:
        raise ConfigError(
            f"A conditional model needs the label of every training image, but data.labeled_fraction="
            f"{labeled_fraction} hides the others. Use data.labeled_fraction=1, or model=vae_classifier for the "
            "semi-supervised setting."
        )
    return model


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
