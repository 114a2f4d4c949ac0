"""β-TCVAE and FactorVAE on the objective seam: their terms and their optimisation."""

import math

import lightning as L
import pytest
import torch

from tests.extending_example import BarsDataModule
from vae_lightning.engine.module import TrainingEngine, engine_for
from vae_lightning.errors import ConfigError
from vae_lightning.models import BetaTCVAE, FactorVAE
from vae_lightning.models.total_correlation import gaussian_log_density

SMALL = {"image_shape": (1, 16, 16), "latent_dim": 3, "channels": (4,), "hidden_dim": 16}


def _fit(engine: TrainingEngine, tmp_path, steps: int = 6) -> L.Trainer:
    trainer = L.Trainer(max_steps=steps, limit_val_batches=2, enable_checkpointing=False, logger=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                        default_root_dir=tmp_path)
    trainer.fit(engine, datamodule=BarsDataModule(batch_size=16, eval_batch_size=32, num_train=96, num_test=32))
    return trainer


def test_the_tc_decomposition_with_unit_weights_is_the_single_sample_negative_elbo():
    torch.manual_seed(0)
    model = BetaTCVAE(beta=1.0, **SMALL)
    model.dataset_size.fill_(500)
    x = torch.rand(12, 1, 16, 16)
    torch.manual_seed(1)
    terms = model.objective(x, None, None)
    torch.manual_seed(1)
    out = model(x)
    log_ratio = (gaussian_log_density(out.z, out.mu, out.log_var)
                 - gaussian_log_density(out.z, torch.zeros_like(out.z), torch.zeros_like(out.z))).sum(1)
    decomposed = terms["mutual_info"] + terms["total_correlation"] + terms["dimwise_kl"]
    assert decomposed.item() == pytest.approx(log_ratio.mean().item(), abs=1e-4)
    assert terms["loss"].item() == pytest.approx((terms["recon"] + log_ratio.mean()).item(), abs=1e-3)
    assert terms["dimwise_kl_per_dim"].shape == (3,)


def test_beta_weights_only_the_total_correlation():
    x = torch.rand(12, 1, 16, 16)
    losses = {}
    for beta in (1.0, 5.0):
        torch.manual_seed(0)
        model = BetaTCVAE(beta=beta, **SMALL)
        model.dataset_size.fill_(500)
        torch.manual_seed(1)
        losses[beta] = model.objective(x, None, None)
    difference = losses[5.0]["loss"] - losses[1.0]["loss"]
    assert difference.item() == pytest.approx(4.0 * losses[1.0]["total_correlation"].item(), rel=1e-4, abs=1e-4)


def test_a_fitted_beta_tcvae_records_its_training_set_size_and_logs_its_terms(tmp_path):
    torch.manual_seed(0)
    engine = engine_for(BetaTCVAE, beta=4.0, **SMALL)
    model = engine.model
    trainer = _fit(engine, tmp_path)
    assert model.dataset_size.item() == 86  # 96 training images less the 10% validation split
    for name in ("val/mutual_info", "val/total_correlation", "val/dimwise_kl", "train/total_correlation"):
        assert math.isfinite(float(trainer.callback_metrics[name])), name
    assert engine.per_dimension_terms("val")["dimwise_kl_per_dim"].shape == (3,)
    restored = BetaTCVAE(**model.hparams)
    restored.load_state_dict(model.state_dict())
    assert restored.dataset_size.item() == 86


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tc_estimator": "exact"}, "model.tc_estimator='exact'"),
    ({"alpha": -1.0}, "model.alpha"),
])
def test_bad_beta_tcvae_settings_name_their_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BetaTCVAE(**SMALL, **kwargs)


def test_an_unfitted_beta_tcvae_says_it_needs_training():
    with pytest.raises(ConfigError, match="has not been fitted"):
        BetaTCVAE(**SMALL).objective(torch.rand(4, 1, 16, 16), None, None)


def test_factor_vae_steps_the_vae_and_its_discriminator_with_their_own_optimisers(tmp_path):
    torch.manual_seed(0)
    engine = engine_for(FactorVAE, gamma=10.0, discriminator_hidden=32, discriminator_layers=2, **SMALL)
    model = engine.model
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = _fit(engine, tmp_path, steps=16)
    assert trainer.global_step == 16  # two optimiser steps per batch: 8 batches, past one epoch of 6
    vae_optimizer, discriminator_optimizer = trainer.optimizers
    discriminator_ids = {id(p) for p in model.discriminator.parameters()}
    assert not any(id(p) in discriminator_ids for group in vae_optimizer.param_groups for p in group["params"])
    assert {id(p) for group in discriminator_optimizer.param_groups for p in group["params"]} == discriminator_ids
    moved = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert any(name.startswith("discriminator.") for name in moved)
    assert any(name.startswith("vae.encoder.") for name in moved)
    assert 0 < float(trainer.callback_metrics["val/discriminator_loss"]) < 2
    assert math.isfinite(float(trainer.callback_metrics["val/total_correlation"]))


def test_factor_vae_adds_gamma_times_the_discriminators_tc_estimate():
    torch.manual_seed(0)
    model = FactorVAE(gamma=7.0, discriminator_hidden=8, discriminator_layers=1, **SMALL)
    torch.manual_seed(1)
    terms = model.objective(torch.rand(10, 1, 16, 16), None, None)
    assert terms["loss"].item() == pytest.approx(
        (terms["recon"] + terms["kl"] + 7.0 * terms["total_correlation"]).item(), rel=1e-5)
