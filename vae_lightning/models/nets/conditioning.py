"""How a label becomes the condition vector c of a conditional VAE: a fixed one-hot code or a learned embedding.

A one-hot c is the classic CVAE input (Sohn et al. 2015) and makes a mixture of two classes a meaningful input for
interpolating between them; an embedding learns which classes are alike and stays small when there are many classes.
"""

import torch.nn.functional as F
from torch import Tensor, nn

CONDITIONINGS = ("onehot", "embedding")


class OneHotCondition(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.dim = num_classes

    def forward(self, labels: Tensor) -> Tensor:
        return F.one_hot(labels, self.num_classes).float()


class EmbeddingCondition(nn.Module):
    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_classes, dim)
        self.dim = dim

    def forward(self, labels: Tensor) -> Tensor:
        return self.embedding(labels)


def make_condition(kind: str, num_classes: int, embedding_dim: int) -> nn.Module:
    """The `model.conditioning` module: labels (B,) → condition vectors (B, module.dim)."""
    return OneHotCondition(num_classes) if kind == "onehot" else EmbeddingCondition(num_classes, embedding_dim)
