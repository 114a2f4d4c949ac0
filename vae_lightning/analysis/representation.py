"""How much the latent means μ(x) carry: active units, per-dimension KL, and how well simple classifiers read labels.

Probes are trained on μ of the training split and scored on the test split; they measure what is linearly (logistic
regression) or locally (k nearest neighbours) recoverable from the code, not what the VAE was trained for.
"""

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from torch import Tensor, nn

from vae_lightning.analysis.likelihood import model_device
from vae_lightning.errors import ConfigError
from vae_lightning.models.objectives import gaussian_kl_per_dim

PROBE_MAX_ITER = 100  # Newton steps; it converges in about ten
WARM_START_IMAGES = 10_000  # the linear probe's first fit, on a subset of a split over twice this size


class EncodedSplit(NamedTuple):
    """q(z|x) = N(μ, exp(log_var)) for every image of a split, on the CPU, with the images' labels and, where the
    split records them, their domains (row for row, so a subset of a split keeps both aligned)."""

    mu: Tensor
    log_var: Tensor
    labels: Tensor
    domains: Tensor | None = None


@torch.no_grad()
def encode_dataset(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]]) -> EncodedSplit:
    """Run `model.vae.encoder` over (images, labels) batches, e.g. a DataLoader, and stack the results in order.

    A conditional model encodes each image with its own label, q(z | x, c)."""
    device = model_device(model)
    mus, log_vars, labels = [], [], []
    for images, batch_labels in batches:
        mu, log_var = model.vae.encoder(images.to(device), model.condition(batch_labels.to(device)))
        mus.append(mu.cpu())
        log_vars.append(log_var.cpu())
        labels.append(batch_labels.cpu())
    if not mus:
        raise ConfigError("The split to encode has no images: check the data split and its batch size.")
    return EncodedSplit(torch.cat(mus), torch.cat(log_vars), torch.cat(labels))


def mean_kl_per_dim(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(q(z_d|x) ‖ N(0, 1)) per dimension (D,), averaged over images, in nats; it sums to the rate."""
    return gaussian_kl_per_dim(mu.double(), log_var.double()).mean(0).float()


def active_units(mu: Tensor, threshold: float = 0.01) -> tuple[Tensor, Tensor]:
    """Variance of μ_d over images (D,) and which dimensions are active: Cov_x(E_q[z_d|x]) > threshold.

    Burda et al. (2016): a dimension whose posterior mean does not move with x carries no information about x,
    whatever its σ. The variance uses the unbiased (N − 1) estimator.
    """
    if mu.ndim != 2 or len(mu) < 2:
        raise ConfigError(f"mu has shape {tuple(mu.shape)}: active units need μ of at least 2 images, shape (N, D).")
    variances = mu.double().var(dim=0).float()
    return variances, variances > threshold


def linear_probe_accuracy(train_features: Tensor, train_labels: Tensor, test_features: Tensor, test_labels: Tensor,
                          seed: int) -> float:
    """Test accuracy of multinomial logistic regression on standardised features.

    Standardising changes nothing a linear classifier can express but keeps the default L2 penalty (C = 1) equally
    strong on every dimension. The solver is Newton's method with a Cholesky solve (the problem has only
    (D + 1) × classes weights, 330 for a 32-d code and 10 classes): it reaches the optimum in about ten steps however
    correlated the codes are, where L-BFGS took 100–600 iterations, the most on poorly trained runs, whose codes are
    the most correlated. On a large training split it starts from the optimum of a seeded random
    `WARM_START_IMAGES` of it, which leaves about three full-size steps instead of eight: the same optimum, the same
    test accuracy, 40% less time (docs/performance.md has the solvers' accuracies and times).
    """
    features, test = train_features.cpu().numpy(), test_features.cpu().numpy()
    labels = train_labels.cpu().numpy()
    scaler = StandardScaler().fit(features)
    features, test = scaler.transform(features), scaler.transform(test)
    probe = LogisticRegression(solver="newton-cholesky", max_iter=PROBE_MAX_ITER, random_state=seed,
                               warm_start=True)
    with threadpool_limits(limits=1):
        if len(features) > 2 * WARM_START_IMAGES:
            start = np.random.default_rng(seed).permutation(len(features))[:WARM_START_IMAGES]
            if len(np.unique(labels[start])) == len(np.unique(labels)):  # the start must know every class
                probe.fit(features[start], labels[start])
        probe.fit(features, labels)
        return float(probe.score(test, test_labels.cpu().numpy()))


def knn_accuracy(train_features: Tensor, train_labels: Tensor, test_features: Tensor, test_labels: Tensor,
                 k: int = 5) -> float:
    """Test accuracy of a k-nearest-neighbour vote under Euclidean distance in the raw latent space.

    The features are not standardised: that would blow inactive, near-constant dimensions up to unit variance and
    let their noise dominate the distances, and the question is whether the latent geometry itself groups labels.
    """
    if k < 1:
        raise ConfigError(f"k={k} is not allowed: the number of neighbours must be ≥ 1.")
    return _fit_and_score(KNeighborsClassifier(n_neighbors=k), train_features, train_labels, test_features,
                          test_labels)


def _fit_and_score(classifier: BaseEstimator, train_features: Tensor, train_labels: Tensor, test_features: Tensor,
                   test_labels: Tensor) -> float:
    """Fit and score on one thread of BLAS and OpenMP. The products are small (60,000 × 32 codes), so a second
    thread gains little, and on a machine whose cores are busy their threads spin waiting for each other: with their
    own default thread count the probes took minutes of CPU there instead of seconds (docs/performance.md)."""
    with threadpool_limits(limits=1):
        classifier.fit(train_features.cpu().numpy(), train_labels.cpu().numpy())
        return float(classifier.score(test_features.cpu().numpy(), test_labels.cpu().numpy()))
