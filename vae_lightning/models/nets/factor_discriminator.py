"""FactorVAE's density-ratio estimate of total correlation (Kim & Mnih 2018, "Disentangling by Factorising").

A discriminator learns to tell samples of the aggregate posterior q(z) ("joint", class 0) from samples of the product
of its marginals Π_d q(z_d) ("permuted", class 1), made by shuffling each latent dimension across the batch. At the
optimum D(z) = q(z) / (q(z) + Π_d q(z_d)), so TC = KL(q(z) ‖ Π_d q(z_d)) = E_q(z)[log D(z) / (1 − D(z))], the mean
over joint samples of logit_joint − logit_permuted. The VAE adds γ·TC to its negative ELBO; the discriminator is
trained separately with `discriminator_loss`.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_lightning.errors import ConfigError

JOINT = 0
PERMUTED = 1


def permute_dims(z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Shuffle each column of z (B, D) with its own permutation: samples of Π_d q(z_d) (Kim & Mnih 2018, Alg. 1).

    Each dimension keeps its values, only their pairing across dimensions is broken. `generator` must live on z's
    device; the same seed gives the same permutations.
    """
    batch_size, latent_dim = z.shape
    # argsort of i.i.d. uniforms gives D independent uniformly random permutations in one call.
    order = torch.rand(batch_size, latent_dim, generator=generator, device=z.device).argsort(dim=0)
    return z.gather(0, order)


class FactorDiscriminator(nn.Module):
    """MLP from a latent code (B, D) to two logits (B, 2): column 0 = joint q(z) (`JOINT`), 1 = permuted (`PERMUTED`).

    The paper's architecture: `layers` hidden layers of `hidden` units with LeakyReLU(0.2) (6 × 1000), then a linear
    output. Two logits rather than one so the log density ratio is a difference of logits, as in the paper's code.
    """

    def __init__(self, latent_dim: int, hidden: int = 1000, layers: int = 6) -> None:
        super().__init__()
        if latent_dim < 1 or hidden < 1 or layers < 1:
            raise ConfigError(
                f"FactorDiscriminator got latent_dim={latent_dim}, hidden={hidden}, layers={layers}: all must be ≥ 1 "
                "(the paper uses 6 layers of 1000 units); fix model.latent_dim or the discriminator's size."
            )
        blocks: list[nn.Module] = []
        width = latent_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        blocks.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*blocks)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def tc_estimate(discriminator_logits: Tensor) -> Tensor:
    """Per-image log D(z)/(1 − D(z)) = logit_joint − logit_permuted (B,), in nats; its mean over joint samples of
    q(z) estimates the total correlation (Kim & Mnih 2018, eq. 3)."""
    return discriminator_logits[:, JOINT] - discriminator_logits[:, PERMUTED]


def discriminator_loss(logits_joint: Tensor, logits_permuted: Tensor) -> Tensor:
    """Cross-entropy (nats, scalar) of classifying joint samples as `JOINT` and permuted ones as `PERMUTED`.

    The mean of the two classes' losses, so a discriminator that cannot tell them apart scores ln 2. Pass the joint
    codes detached: the discriminator's loss should not move the encoder.
    """
    joint_targets = torch.full((logits_joint.shape[0],), JOINT, dtype=torch.long, device=logits_joint.device)
    permuted_targets = torch.full((logits_permuted.shape[0],), PERMUTED, dtype=torch.long, device=logits_joint.device)
    return 0.5 * (F.cross_entropy(logits_joint, joint_targets) + F.cross_entropy(logits_permuted, permuted_targets))
