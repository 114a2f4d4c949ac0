"""Objects from config nodes, built the same way by training and by the start-up config check."""

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
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


def build_model(cfg: DictConfig, image_shape: tuple[int, ...]) -> Any:
    """The LightningModule of `cfg.model` for `image_shape` images, with the optimiser settings of `cfg.optimizer`."""
    return build(cfg.model, image_shape=list(image_shape), optimizer=cfg.optimizer.name, lr=cfg.optimizer.lr,
                 weight_decay=cfg.optimizer.weight_decay)
