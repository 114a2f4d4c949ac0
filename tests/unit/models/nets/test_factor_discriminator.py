import math

import pytest
import torch

from vae_lightning.errors import ConfigError
from vae_lightning.models.nets.factor_discriminator import (
    JOINT,
    PERMUTED,
    FactorDiscriminator,
    discriminator_loss,
    permute_dims,
    tc_estimate,
)


def test_permute_dims_keeps_each_dimension_values():
    z = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
    permuted = permute_dims(z, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(permuted.sort(dim=0).values, z.sort(dim=0).values)


def test_permute_dims_breaks_pairing_across_dimensions():
    z = torch.arange(200.0).unsqueeze(1).repeat(1, 3)  # every row (i, i, i): all dimensions perfectly paired
    permuted = permute_dims(z, generator=torch.Generator().manual_seed(2))
    rows_still_paired = (permuted == permuted[:, :1]).all(dim=1).float().mean()
    assert rows_still_paired < 0.05
    assert not torch.equal(permuted[:, 0], permuted[:, 1])


def test_permute_dims_is_reproducible_with_a_generator():
    z = torch.randn(50, 3)
    first = permute_dims(z, generator=torch.Generator().manual_seed(3))
    again = permute_dims(z, generator=torch.Generator().manual_seed(3))
    other = permute_dims(z, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_discriminator_has_papers_architecture_and_two_logits():
    discriminator = FactorDiscriminator(latent_dim=10)
    linears = [m for m in discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert [layer.out_features for layer in linears] == [1000] * 6 + [2]
    leaky = [m for m in discriminator.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert len(leaky) == 6 and all(m.negative_slope == 0.2 for m in leaky)
    assert discriminator(torch.zeros(5, 10)).shape == (5, 2)


def test_discriminator_size_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="layers=0"):
        FactorDiscriminator(latent_dim=4, layers=0)


def test_discriminator_loss_is_ln2_for_equal_logits():
    logits = torch.randn(16, 1).repeat(1, 2)
    assert discriminator_loss(logits, logits).item() == pytest.approx(math.log(2))


def test_discriminator_loss_rewards_joint_in_class_0_and_permuted_in_class_1():
    confident = torch.zeros(8, 2)
    confident[:, JOINT] = 10.0
    swapped = confident.flip(1)
    assert discriminator_loss(confident, swapped).item() < 1e-3
    assert discriminator_loss(swapped, confident).item() > 9.0


def test_tc_estimate_is_the_log_density_ratio():
    logits = torch.tensor([[2.0, 0.5], [0.0, 1.0]])
    probability_joint = logits.softmax(1)[:, JOINT]
    torch.testing.assert_close(tc_estimate(logits), torch.log(probability_joint / (1 - probability_joint)))
    assert tc_estimate(logits)[0].item() == pytest.approx(logits[0, JOINT] - logits[0, PERMUTED])


def _trained_tc_estimate(rho: float, seed: int) -> float:
    """Train a small discriminator on 2-D Gaussian codes with correlation rho; return its mean TC on fresh codes."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    covariance = torch.tensor([[1.0, rho], [rho, 1.0]])
    codes = torch.distributions.MultivariateNormal(torch.zeros(2), covariance)
    discriminator = FactorDiscriminator(latent_dim=2, hidden=32, layers=2)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=3e-3)
    for _ in range(300):
        z = codes.sample((256,))
        loss = discriminator_loss(discriminator(z), discriminator(permute_dims(z, generator)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return tc_estimate(discriminator(codes.sample((4096,)))).mean().item()


def test_trained_discriminator_estimates_positive_tc_for_correlated_codes():
    rho = 0.9
    estimate = _trained_tc_estimate(rho, seed=5)
    assert estimate == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.35)  # 0.83 nats


def test_trained_discriminator_estimates_about_zero_tc_for_independent_codes():
    assert abs(_trained_tc_estimate(0.0, seed=6)) < 0.1
