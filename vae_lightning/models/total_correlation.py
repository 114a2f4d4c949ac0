"""The β-TCVAE decomposition of the KL term into index-code MI, total correlation and dimension-wise KL.

Chen et al. (2018), "Isolating Sources of Disentanglement in VAEs", eq. (2), for a diagonal-Gaussian q(z|x) and an
N(0, I) prior:

    E_x KL(q(z|x) ‖ p(z)) = I_q(z; x)                     index-code mutual information
                          + KL(q(z) ‖ Π_d q(z_d))          total correlation (TC)
                          + Σ_d KL(q(z_d) ‖ p(z_d))        dimension-wise KL

where q(z) = (1/N) Σ_n q(z|x_n) is the aggregate posterior over a dataset of N images. Every term here is a
single-sample estimate per image, in nats per image: for each image i one sample z_i ~ q(z|x_i), and the expectations
become the batch mean of the returned (B,) tensors. log q(z) and log Π_d q(z_d) are not tractable and are estimated
from the minibatch itself (Appendix C): the estimates are biased (log of an average), the bias shrinking as the batch
grows; minibatch-stratified sampling (MSS) is the estimator the paper recommends. Minibatch-weighted sampling (MWS)
gives every pair the weight 1/(B·N), which sums to 1/N rather than 1 per image: its values of log q(z) and log q(z_d)
sit below the true ones (by up to log B), so its MI, TC and dimension-wise KL are offset (TC upwards by up to
(D − 1)·log B). Compare values only within one estimator, and log MSS values.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor

from vae_lightning.errors import ConfigError

_LOG_2PI = math.log(2 * math.pi)
TC_ESTIMATORS = ("mss", "mws")


def gaussian_log_density(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z; μ, σ²) elementwise (nats), broadcasting like `z - mu`."""
    return -0.5 * (_LOG_2PI + log_var + (z - mu).pow(2) * torch.exp(-log_var))


def pairwise_log_density(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log q(z_i,d | x_j) for every sample i, posterior j and dimension d: a (B, B, D) tensor from (B, D) inputs.

    Row i holds one sample z_i ~ q(z|x_i) scored under every posterior of the batch. The result takes B²·D floats
    (10 MiB for B = 512, D = 10 in float32); inputs are broadcast as views so no other tensor of that size is kept.
    """
    return gaussian_log_density(z.unsqueeze(1), mu.unsqueeze(0), log_var.unsqueeze(0))


def mss_log_weights(batch_size: int, dataset_size: int) -> Tensor:
    """log w_ij of minibatch-stratified sampling (Chen et al. 2018, Appendix C.2) as a (B, B) matrix.

    With M = B − 1 other images in the batch, the estimate of q(z_i) = (1/N) Σ_n q(z_i|x_n) is
        (1/N) q(z_i|x_i) + (1/M) Σ_{M−1 others} q(z_i|x_j) + (N − M)/(N M) q(z_i|x_{i+1 mod B}):
    the image that produced z_i keeps its exact weight 1/N, the others share (N − 1)/N, so each row sums to 1. Which
    other image carries the stratum weight does not matter in expectation, as batches are drawn at random.
    These are the constants of the reference code (rtqichen/beta-tcvae, `_log_importance_weight_matrix`), placed on
    the diagonal: its strided indexing puts 1/N in column 0 instead (YannDubs/disentangling-vae issue #58).
    """
    _check_dataset_size(batch_size, dataset_size, "mss")
    others = batch_size - 1
    weights = torch.full((batch_size, batch_size), 1.0 / others, dtype=torch.float64)
    rows = torch.arange(batch_size)
    weights[rows, (rows + 1) % batch_size] = (dataset_size - others) / (dataset_size * others)
    weights[rows, rows] = 1.0 / dataset_size
    return weights.log()


def estimate_log_aggregate(log_q_pairs: Tensor, dataset_size: int, estimator: str = "mss") -> tuple[Tensor, Tensor]:
    """Estimates of log q(z_i) (B,) and of each marginal log q(z_i,d) (B, D) from `pairwise_log_density`'s matrix.

    "mws", minibatch-weighted sampling (Appendix C.1): log q(z_i) ≈ logsumexp_j log q(z_i|x_j) − log(B·N), and
    likewise per dimension. "mss", minibatch-stratified sampling (Appendix C.2): log q(z_i) ≈ logsumexp_j
    (log w_ij + log q(z_i|x_j)) with the weights of `mss_log_weights`; needs N ≥ B and B ≥ 2.
    """
    batch_size = log_q_pairs.shape[0]
    if estimator == "mws":
        _check_dataset_size(batch_size, dataset_size, estimator)
        log_weights = torch.full((batch_size, batch_size), -math.log(batch_size * dataset_size))
    elif estimator == "mss":
        log_weights = mss_log_weights(batch_size, dataset_size)
    else:
        raise ConfigError(
            f"model.tc_estimator={estimator!r} is not known: use 'mss' (minibatch-stratified sampling, recommended by "
            "Chen et al. 2018) or 'mws' (minibatch-weighted sampling)."
        )
    log_weights = log_weights.to(log_q_pairs)
    log_qz = torch.logsumexp(log_weights + log_q_pairs.sum(2), dim=1)
    log_qz_per_dim = torch.logsumexp(log_weights.unsqueeze(2) + log_q_pairs, dim=1)
    return log_qz, log_qz_per_dim


class TCDecomposition(NamedTuple):
    """The three KL terms per image (B,) in nats, and the dimension-wise KL per latent dimension (D,) for logging."""

    mutual_info: Tensor
    total_correlation: Tensor
    dimwise_kl: Tensor
    dimwise_kl_per_dim: Tensor


def decompose_kl(z: Tensor, mu: Tensor, log_var: Tensor, dataset_size: int, estimator: str = "mss") -> TCDecomposition:
    """Split log q(z|x) − log p(z) per image into MI + TC + dimension-wise KL (Chen et al. 2018, eq. 2).

    z (B, D) holds one sample z_i ~ q(z|x_i) = N(mu_i, exp(log_var_i)); `dataset_size` is N, the number of training
    images. Per image i:
        mutual_info       = log q(z_i|x_i) − log q(z_i)
        total_correlation = log q(z_i) − Σ_d log q(z_i,d)
        dimwise_kl        = Σ_d log q(z_i,d) − log p(z_i,d)
    The three sum to log q(z_i|x_i) − log p(z_i), the single-sample KL estimate, for either estimator.
    """
    log_qz, log_qz_per_dim = estimate_log_aggregate(pairwise_log_density(z, mu, log_var), dataset_size, estimator)
    log_qz_given_x = gaussian_log_density(z, mu, log_var).sum(1)
    dimwise_kl_per_image_dim = log_qz_per_dim - gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
    return TCDecomposition(
        mutual_info=log_qz_given_x - log_qz,
        total_correlation=log_qz - log_qz_per_dim.sum(1),
        dimwise_kl=dimwise_kl_per_image_dim.sum(1),
        dimwise_kl_per_dim=dimwise_kl_per_image_dim.mean(0),
    )


def tcvae_loss(
    recon_nll: Tensor, terms: TCDecomposition, beta: float, alpha: float = 1.0, gamma: float = 1.0
) -> Tensor:
    """β-TCVAE loss per image (B,): −log p(x|z) + α·MI + β·TC + γ·dimension-wise KL, in nats.

    Chen et al. (2018), eq. (4): α = γ = 1 and β > 1 penalise only the total correlation beyond the ELBO; α = β = γ = 1
    is the negative ELBO. Average over the batch for the training loss.
    """
    return recon_nll + alpha * terms.mutual_info + beta * terms.total_correlation + gamma * terms.dimwise_kl


def _check_dataset_size(batch_size: int, dataset_size: int, estimator: str) -> None:
    if estimator == "mss" and batch_size < 2:
        raise ConfigError(
            f"model.tc_estimator='mss' needs at least 2 images per batch, got a batch of {batch_size}: "
            "raise data.batch_size."
        )
    if dataset_size < batch_size:
        raise ConfigError(
            f"model.tc_estimator={estimator!r} got dataset_size={dataset_size} smaller than the batch of {batch_size}: "
            "the aggregate posterior q(z) is estimated from a minibatch of N training images, so N must be ≥ the "
            "batch size; pass the number of training images."
        )
