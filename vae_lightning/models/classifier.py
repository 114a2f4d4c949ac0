"""The VAE with a classification head on μ (`model=vae_classifier`): loss = β-VAE loss + α · cross-entropy.

With `data.labeled_fraction` < 1 only that share of training images keeps its label (the rest arrive as
`HIDDEN_LABEL`), which is the semi-supervised setting: the generative term shapes μ from every image, the
classifier from the labelled ones.
"""

from typing import Any, ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from vae_lightning.data.base import HIDDEN_LABEL
from vae_lightning.models.beta_vae import BetaVAE
from vae_lightning.models.contract import require
from vae_lightning.models.nets.conv_vae import ConvVAE


class ClassifierVAE(BetaVAE):
    """Adds `ce` (nats per labelled image) and `accuracy` (over labelled images) to the β-VAE terms."""

    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape", "num_classes")
    term_descriptions: ClassVar[dict[str, str]] = {
        **BetaVAE.term_descriptions,
        "loss": "β-VAE loss + α · cross-entropy (nats/image)",
        "ce": "classifier head cross-entropy (nats per labelled image)",
        "accuracy": "classifier head accuracy",
    }

    def __init__(self, num_classes: int = 10, alpha: float = 50.0, **vae_settings: Any) -> None:
        require(num_classes >= 2, "num_classes (from the data)", num_classes, "a classifier needs ≥ 2 classes")
        require(alpha >= 0, "model.alpha", alpha, "the weight of the cross-entropy must be ≥ 0")
        self.keep_settings(num_classes=num_classes, alpha=alpha)
        super().__init__(**vae_settings)

    def build_network(self, condition_dim: int = 0) -> ConvVAE:
        self.classifier = nn.Linear(self.hparams.latent_dim, self.hparams.num_classes)
        return super().build_network(condition_dim)

    def classify(self, mu: Tensor) -> Tensor:
        """Class logits (B, num_classes) from posterior means."""
        return self.classifier(mu)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        out = self(x, labels)
        terms = self.beta_vae_terms(out, x, step)
        labeled = labels != HIDDEN_LABEL
        logits = self.classify(out.mu)
        per_image = F.cross_entropy(logits, labels.clamp(min=0), reduction="none") * labeled
        num_labeled = labeled.sum().clamp(min=1)  # a batch with no labels adds nothing, not 0/0
        terms["ce"] = per_image.sum() / num_labeled
        terms["accuracy"] = ((logits.argmax(1) == labels) & labeled).sum() / num_labeled
        terms["loss"] = terms["loss"] + self.hparams.alpha * terms["ce"]
        return terms
