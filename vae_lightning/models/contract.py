"""The contract between a model and the training engine: a plain `nn.Module` that knows its maths and nothing of
Lightning.

A model returns the named terms of its objective on a batch (`objective`); the engine logs every term, averages the
one-value-per-dimension ones over evaluation, and optimises the terms that `optimised_losses` names, each with its
own optimiser, in that order. One optimised term (a VAE) trains through Lightning's own loop; several (FactorVAE's
discriminator, a GAN's two players) are stepped by the engine one after another on the same batch. A model holds only
its own settings (`hparams`), so `model.beta=4` is a flat override and a model without β has none.
"""

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from vae_lightning.errors import ConfigError

# The settings a one-line description names beside the latent size, with their papers' symbols.
SETTING_SYMBOLS = {"beta": "β", "gamma": "γ", "k": "K"}

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


class Settings(dict):
    """A model's own settings, read as attributes (`model.hparams.beta`) or as a dict."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error


@dataclasses.dataclass(frozen=True)
class OptimisedLoss:
    """A term of the objective that an optimiser minimises over `parameters`; `optimizer` None means the run's
    `optimizer` config node, anything else is the model's own (e.g. FactorVAE's discriminator's Adam)."""

    term: str
    parameters: list[nn.Parameter]
    optimizer: OptimizerFactory | None = None


class GenerativeModel(nn.Module):
    """Base of every model the engine trains. Subclasses set `hparams` through `keep_settings` and implement
    `objective`; the rest has defaults that suit a model with one loss and nothing to read from the data."""

    # What each term of `objective` is, for metrics.json, the analysis and the report.
    term_descriptions: ClassVar[dict[str, str]] = {"loss": "the optimised objective"}
    # Constructor arguments the data module supplies (see `InMemoryDataModule.model_inputs`), e.g. the image shape.
    needs_from_data: ClassVar[tuple[str, ...]] = ()

    def keep_settings(self, **settings: Any) -> None:
        """Record constructor arguments, beside any recorded already: what rebuilds this model from a checkpoint.

        A subclass calls it before `super().__init__(...)`, so its own settings are there when the parent builds the
        network; each class's constructor names only its own arguments and passes the rest on, so a key no class
        takes is refused (by Python, and by the config check, which reads the same signatures)."""
        self.hparams = Settings({**self.__dict__.get("hparams", {}), **settings})

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        """The named terms of the objective on one batch, scalars as means over its images and 1-d terms as one
        value per latent dimension. `step` is the optimiser step of a training batch and None in evaluation, where
        anything scheduled takes its final value."""
        raise NotImplementedError

    def optimised_losses(self) -> list[OptimisedLoss]:
        """The terms the engine minimises, in stepping order; by default `loss` over every parameter."""
        return [OptimisedLoss("loss", list(self.parameters()))]

    def schedule_values(self, step: int) -> dict[str, float]:
        """Settings that change with the training step, logged beside the loss (e.g. a KL weight)."""
        return {}

    def fit_to_data(self, num_training_images: int) -> None:
        """Called when fitting starts, for a model whose objective depends on the training set (β-TCVAE's N)."""

    @property
    def device(self) -> torch.device:
        """Where the weights live (the CPU for a model without any), so inputs can follow them."""
        return next(self.parameters(), torch.empty(0)).device


def require(condition: bool, key: str, value: object, allowed: str) -> None:
    """Refuse a bad constructor argument with the config key that sets it."""
    if not condition:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}.")


def headline(settings: dict[str, Any]) -> list[str]:
    """A model's defining settings as short phrases (`32-d latent`, `β=4`), for one-line descriptions."""
    phrases = [f"{settings['latent_dim']}-d latent"] if "latent_dim" in settings else []
    return phrases + [f"{symbol}={settings[key]:g}" for key, symbol in SETTING_SYMBOLS.items() if key in settings]


def in_batches(num_samples: int, batch_size: int, draw: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """`draw(k)` for consecutive batches of at most `batch_size` images, concatenated: many samples without holding
    every intermediate activation of all of them at once (a sampler's output depends on the batch size only
    through the order in which a generator's numbers are used)."""
    sizes = [min(batch_size, num_samples - start) for start in range(0, num_samples, batch_size)]
    return torch.cat([draw(size) for size in sizes or [0]])
