"""benchmarks/vs_pythae.py compares like with like: pythae's loss on our networks and noise is our negative ELBO, and
under dynamic binarisation pythae, like ours, sees a fresh draw of each training image every time."""

import pytest
import torch

from tests.conftest import REPO_ROOT


def test_pythae_loss_is_our_negative_elbo_on_the_same_networks_and_noise(monkeypatch):
    pytest.importorskip("pythae")
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    from pythae.models import VAE, VAEConfig
    from vs_pythae import PythaeDecoder, PythaeEncoder

    from vae_lightning.models import BetaVAE

    ours = BetaVAE(latent_dim=4, channels=[4, 8], hidden_dim=16)
    theirs = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=4, reconstruction_loss="bce"),
                 encoder=PythaeEncoder(ours.vae.encoder), decoder=PythaeDecoder(ours.vae.decoder))
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    ours_terms = ours.objective(x, None, None)
    torch.manual_seed(1)
    theirs_output = theirs({"data": x})
    torch.testing.assert_close(theirs_output.loss, ours_terms["neg_elbo"], rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(theirs_output.reg_loss, ours_terms["kl"])


def test_pythae_reads_a_fresh_binarisation_of_each_image_every_time(monkeypatch):
    pytest.importorskip("pythae")
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    from vs_pythae import DynamicallyBinarised

    torch.manual_seed(0)
    grey = torch.full((2000, 1, 2, 2), 0.3)
    data = DynamicallyBinarised(grey)
    first, second = (torch.stack([data[index]["data"] for index in range(len(data))]) for _ in range(2))
    assert first.shape == grey.shape and set(first.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(first, second)
    assert abs(first.mean().item() - 0.3) < 0.02  # Bernoulli(0.3): 8,000 pixels, s.e. 0.005
