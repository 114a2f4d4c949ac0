"""The conditional VAE (`model=cvae`): q(z | x, c) and p(x | z, c) with c made from the class label.

Because the decoder is told the class, the latent code is free to carry only what the label does not say (style,
stroke, pose); a linear probe on μ should then fall towards chance, which the analysis reports.
"""

from typing import Any, ClassVar

from torch import Tensor

from vae_lightning.errors import ConfigError
from vae_lightning.models.beta_vae import BetaVAE
from vae_lightning.models.contract import require
from vae_lightning.models.nets.conditioning import CONDITIONINGS, make_condition
from vae_lightning.models.nets.conv_vae import ConvVAE


class ConditionalVAE(BetaVAE):
    """A β-VAE whose encoder and decoder both see the label; every β-VAE setting applies unchanged."""

    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape", "num_classes")

    def __init__(self, num_classes: int = 10, conditioning: str = "onehot", embedding_dim: int = 16,
                 **vae_settings: Any) -> None:
        require(num_classes >= 2, "num_classes (from the data)", num_classes, "a conditional VAE needs ≥ 2 classes")
        require(conditioning in CONDITIONINGS, "model.conditioning", conditioning, f"use one of {CONDITIONINGS}")
        require(embedding_dim >= 1, "model.embedding_dim", embedding_dim, "it must be ≥ 1")
        self.keep_settings(num_classes=num_classes, conditioning=conditioning, embedding_dim=embedding_dim)
        super().__init__(**vae_settings)

    def build_network(self, condition_dim: int = 0) -> ConvVAE:
        h = self.hparams
        self.condition_encoder = make_condition(h.conditioning, h.num_classes, h.embedding_dim)
        return super().build_network(condition_dim=self.condition_encoder.dim)

    @property
    def conditional(self) -> bool:
        return True

    def condition(self, labels: Tensor | None) -> Tensor:
        if labels is None:
            raise ConfigError("The conditional VAE (model=cvae) needs the class label of every image it encodes or "
                              "decodes; pass the labels, or use model=conv_vae for an unconditional model.")
        return self.condition_encoder(labels.to(self.device))
