"""The VAE with a classification head on μ (`model=vae_classifier`): loss = β-VAE loss + α · cross-entropy.

With `data.labeled_fraction` < 1 only that share of training images keeps its label (the rest arrive as
`HIDDEN_LABEL`), which is the semi-supervised setting: the generative term shapes μ from every image, the
classifier from the labelled ones.
"""

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from vae_lightning.data.base import HIDDEN_LABEL
from vae_lightning.models.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.lit_vae import VAELitModule, require


class ClassifierVAELitModule(VAELitModule):
    """Logs `{stage}/ce` (nats per labelled image) and `{stage}/accuracy` beside the β-VAE terms."""

    def __init__(self, num_classes: int = 10, alpha: float = 50.0, **vae_settings: Any) -> None:
        require(num_classes >= 2, "num_classes (from the data)", num_classes, "a classifier needs ≥ 2 classes")
        require(alpha >= 0, "model.alpha", alpha, "the weight of the cross-entropy must be ≥ 0")
        super().__init__(**vae_settings)

    def build_vae(self) -> ConvVAE:
        self.classifier = nn.Linear(self.hparams.latent_dim, self.hparams.num_classes)
        return super().build_vae()

    def classify(self, mu: Tensor) -> Tensor:
        """Class logits (B, num_classes) from posterior means."""
        return self.classifier(mu)

    def auxiliary_loss(self, out: VAEOutput, labels: Tensor, stage: str) -> Tensor:
        labeled = labels != HIDDEN_LABEL
        logits = self.classify(out.mu)
        per_image = F.cross_entropy(logits, labels.clamp(min=0), reduction="none") * labeled
        num_labeled = labeled.sum().clamp(min=1)  # a batch with no labels adds nothing, not 0/0
        cross_entropy = per_image.sum() / num_labeled
        accuracy = ((logits.argmax(1) == labels) & labeled).sum() / num_labeled
        is_train = stage == "train"
        self.log_dict({f"{stage}/ce": cross_entropy, f"{stage}/accuracy": accuracy}, on_step=False, on_epoch=True,
                      batch_size=len(labels), sync_dist=not is_train)
        return self.hparams.alpha * cross_entropy
