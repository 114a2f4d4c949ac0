"""Scores that fix one factor across a batch and ask which factor it was: the FactorVAE score (Kim & Mnih 2018,
"Disentangling by Factorising") and the β-VAE score (Higgins et al. 2017, "β-VAE: Learning Basic Visual Concepts
with a Constrained Variational Framework"). Both follow disentanglement_lib (Locatello et al. 2019).
"""

from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import Tensor

from vae_lightning.analysis.disentanglement.sampling import CodeSampler, sklearn_seed
from vae_lightning.data.factors import FactorSpace

PRUNE_STD = 0.05
LOGISTIC_MAX_ITER = 1000


def batches_with_fixed_factor(space: FactorSpace, num_batches: int, batch_size: int,
                              generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """A random factor index (N,) per batch, and factor combinations (N, B, K) that all share one random value of
    that factor within the batch (the value of the batch's first combination); the other factors vary freely."""
    fixed = torch.randint(space.num_factors, (num_batches,), generator=generator)
    factors = space.sample(num_batches * batch_size, generator).view(num_batches, batch_size, -1)
    rows = torch.arange(num_batches)
    factors[rows, :, fixed] = factors[rows, :1, fixed]
    return fixed, factors


def active_dims(std: Tensor, threshold: float = PRUNE_STD) -> Tensor:
    """Dimensions whose code std over random data is ≥ `threshold`: the rest collapsed to the prior.

    disentanglement_lib's `prune_dims` with the threshold 0.05 of its configurations."""
    return std >= threshold


def factor_vae_votes(codes: Tensor, global_variance: Tensor, active: Tensor) -> Tensor:
    """Per batch of codes (N, B, D): the active dimension whose variance, relative to its global one, is least."""
    relative = codes.var(dim=1) / global_variance
    return torch.where(active, relative, torch.inf).argmin(dim=1)


def majority_vote_accuracy(train_factor: Tensor, train_vote: Tensor, eval_factor: Tensor, eval_vote: Tensor,
                           num_factors: int, num_dims: int) -> tuple[float, float, list[int]]:
    """Train and eval accuracy of the classifier dim → the factor it most often voted for in training.

    Ties go to the lowest factor index; a dimension that never won a training vote predicts factor 0."""
    counts = torch.zeros(num_factors, num_dims, dtype=torch.long)
    counts.index_put_((train_factor, train_vote), torch.ones_like(train_factor), accumulate=True)
    classifier = counts.argmax(dim=0)
    train_accuracy = float((classifier[train_vote] == train_factor).double().mean())
    eval_accuracy = float((classifier[eval_vote] == eval_factor).double().mean())
    return train_accuracy, eval_accuracy, classifier.tolist()


def factor_vae_score(sampler: CodeSampler, space: FactorSpace, batch_size: int, num_train: int, num_eval: int,
                     num_variance_estimate: int, generator: torch.Generator) -> dict[str, Any]:
    """Accuracy of the majority-vote classifier from the least-varying normalised dimension to the fixed factor.

    As disentanglement_lib: codes are normalised by their std over `num_variance_estimate` random combinations,
    dimensions with std < 0.05 are left out of the argmin, and the score is the accuracy on the eval votes; unlike
    it, `num_active_dims` counts the kept dimensions. `dim_to_factor` names each dimension's majority factor (None
    for a dimension that won no training vote)."""
    global_variance = sampler.codes(space.sample(num_variance_estimate, generator)).var(dim=0)
    active = active_dims(global_variance.sqrt())
    result: dict[str, Any] = {
        "batch_size": batch_size, "num_train": num_train, "num_eval": num_eval,
        "num_variance_estimate": num_variance_estimate, "prune_std_threshold": PRUNE_STD,
        "num_active_dims": int(active.sum()),
        "normalisation": "per-dimension variance in a batch divided by its variance over random data (ddof=1)",
    }
    if not active.any():
        return {**result, "train_accuracy": 0.0, "eval_accuracy": 0.0, "score": 0.0,
                "reason": f"no code dimension has std ≥ {PRUNE_STD} over random data: the code ignores the images"}
    votes = {}
    for split, size in (("train", num_train), ("eval", num_eval)):
        fixed, factors = batches_with_fixed_factor(space, size, batch_size, generator)
        votes[split] = fixed, sampler.grouped(factors, lambda c: factor_vae_votes(c, global_variance, active))
    train_accuracy, eval_accuracy, classifier = majority_vote_accuracy(*votes["train"], *votes["eval"],
                                                                       space.num_factors, len(active))
    voted = torch.bincount(votes["train"][1], minlength=len(active)) > 0
    return {**result, "train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy, "score": eval_accuracy,
            "dim_to_factor": [space.names[k] if voted[d] else None for d, k in enumerate(classifier)]}


def paired_batches(space: FactorSpace, num_batches: int, batch_size: int,
                   generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """A random factor index (N,) per batch, and two batches of combinations (N, B, K) that agree, pair by pair,
    on that factor only (Higgins et al. 2017: each pair shares its own random value of the fixed factor)."""
    fixed = torch.randint(space.num_factors, (num_batches,), generator=generator)
    first = space.sample(num_batches * batch_size, generator).view(num_batches, batch_size, -1)
    second = space.sample(num_batches * batch_size, generator).view(num_batches, batch_size, -1)
    rows = torch.arange(num_batches)
    second[rows, :, fixed] = first[rows, :, fixed]
    return fixed, first, second


def beta_vae_features(sampler: CodeSampler, space: FactorSpace, num_points: int, batch_size: int,
                      generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mean |z¹ − z²| over the B pairs of each batch (N, D), and the factor the pairs share (N,)."""
    fixed, first, second = paired_batches(space, num_points, batch_size, generator)
    interleaved = torch.stack([first, second], dim=2).flatten(1, 2)
    features = sampler.grouped(interleaved, lambda codes: (codes[:, 0::2] - codes[:, 1::2]).abs().mean(dim=1))
    return features.numpy(), fixed.numpy()


def beta_vae_score(sampler: CodeSampler, space: FactorSpace, batch_size: int, num_train: int, num_eval: int,
                   generator: torch.Generator) -> dict[str, Any]:
    """Accuracy of a linear classifier that tells from mean |z¹ − z²| which factor the pairs shared.

    disentanglement_lib's `beta_vae_sklearn`: sklearn LogisticRegression with default penalty (C = 1) on the raw
    features; here with max_iter=1000 instead of 100 so that L-BFGS converges."""
    train_features, train_labels = beta_vae_features(sampler, space, num_train, batch_size, generator)
    eval_features, eval_labels = beta_vae_features(sampler, space, num_eval, batch_size, generator)
    classifier = LogisticRegression(max_iter=LOGISTIC_MAX_ITER, random_state=sklearn_seed(generator))
    classifier.fit(train_features, train_labels)
    eval_accuracy = float(classifier.score(eval_features, eval_labels))
    return {"train_accuracy": float(classifier.score(train_features, train_labels)), "eval_accuracy": eval_accuracy,
            "score": eval_accuracy, "batch_size": batch_size, "num_train": num_train, "num_eval": num_eval,
            "classifier": f"sklearn LogisticRegression(C=1, max_iter={LOGISTIC_MAX_ITER}) on mean |z1 - z2|"}
