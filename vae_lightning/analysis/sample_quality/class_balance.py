"""What the feature network's classifier says about a set of images: how evenly the classes are drawn and how
recognisable each image is."""

import math
from typing import Any

import torch
from torch import Tensor


def label_entropies(logits: Tensor) -> dict[str, Any]:
    """From the classifier's logits (N, C), in nats:

    - `class_entropy`: the entropy of the mean predicted distribution, H(E_x[p(y|x)]). It is log C when every class
      is drawn equally often and falls when a model drops or favours classes (a class-balance check);
    - `mean_sample_entropy`: the mean per-image entropy, E_x[H(p(y|x))]. Near 0 when each image is clearly one class,
      higher for ambiguous or blurry images;
    - `predicted_class_fractions`: the share of images whose most likely class is each class.
    """
    log_p = torch.log_softmax(logits.double(), dim=1)
    p = log_p.exp()
    mean_p = p.mean(0)
    class_entropy = -(mean_p * mean_p.clamp_min(1e-300).log()).sum()
    mean_sample_entropy = -(p * log_p).sum(1).mean()
    fractions = torch.bincount(logits.argmax(1), minlength=logits.shape[1]).double() / len(logits)
    return {"class_entropy": float(class_entropy), "mean_sample_entropy": float(mean_sample_entropy),
            "max_entropy": math.log(logits.shape[1]), "predicted_class_fractions": fractions.tolist()}
