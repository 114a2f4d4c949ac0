"""The training engine drives any model on the contract: one optimised loss through Lightning's own loop, several
stepped in order, optimisers and schedulers from config nodes, every term logged, a checkpoint rebuilt with no
arguments."""

import math

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from tests.extending_example import TinyGAN
from vae_lightning.engine.checkpoint_schema import CLASSES_KEY, FORMAT_KEY, FORMAT_VERSION
from vae_lightning.engine.module import TrainingEngine, engine_for
from vae_lightning.errors import TrainingDivergedError
from vae_lightning.models import BetaVAE, FactorVAE

SMALL = {"image_shape": [1, 8, 8], "latent_dim": 2, "channels": [4], "hidden_dim": 8}


def _loader(count: int = 12, batch_size: int = 4) -> DataLoader:
    torch.manual_seed(0)
    return DataLoader(TensorDataset(torch.rand(count, 1, 8, 8), torch.zeros(count, dtype=torch.long)),
                      batch_size=batch_size)


def _trainer(tmp_path, **settings) -> L.Trainer:
    settings = {"max_epochs": 2, "logger": CSVLogger(tmp_path), "enable_checkpointing": False,
                "enable_progress_bar": False, "enable_model_summary": False, "accelerator": "cpu", **settings}
    return L.Trainer(**settings)


def test_one_optimised_loss_trains_through_lightnings_loop_and_several_are_stepped_by_the_engine():
    assert engine_for(BetaVAE, **SMALL).automatic_optimization
    factor = engine_for(FactorVAE, discriminator_hidden=4, discriminator_layers=1, **SMALL)
    assert not factor.automatic_optimization and factor.optimised_terms == ["loss", "discriminator_loss"]


def test_any_torch_optimiser_and_scheduler_come_from_config_nodes(tmp_path):
    engine = TrainingEngine(model={"_target_": "vae_lightning.models.BetaVAE", **SMALL},
                            optimizer={"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.01, "momentum": 0.5},
                            scheduler={"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True,
                                       "step_size": 1, "gamma": 0.5})
    trainer = _trainer(tmp_path, max_epochs=3)
    trainer.fit(engine, _loader())
    (optimizer,) = trainer.optimizers
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["momentum"] == 0.5
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**3)  # halved after each of 3 epochs


def test_several_losses_step_their_own_optimisers_in_order_on_every_batch(tmp_path):
    engine = engine_for(TinyGAN, image_shape=[1, 8, 8], noise_dim=4, hidden=8, discriminator_lr=1e-3)
    before = {name: p.detach().clone() for name, p in engine.model.named_parameters()}
    trainer = _trainer(tmp_path)
    trainer.fit(engine, _loader())
    generator_optimizer, discriminator_optimizer = trainer.optimizers
    assert discriminator_optimizer.param_groups[0]["lr"] == 1e-3 and discriminator_optimizer.defaults["betas"] == (
        0.5, 0.999)
    assert {id(p) for p in generator_optimizer.param_groups[0]["params"]} == {
        id(p) for p in engine.model.generator.parameters()}
    assert trainer.global_step == 2 * 2 * 3  # two optimiser steps per batch, 3 batches, 2 epochs
    assert all(not torch.equal(before[name], p) for name, p in engine.model.named_parameters())
    assert {"train/loss_epoch", "train/discriminator_loss_epoch"} <= set(trainer.callback_metrics)


@pytest.mark.parametrize("log_every_n_steps", [1, 2, 50])
def test_the_training_log_keeps_the_epoch_mean_of_every_step(log_every_n_steps, tmp_path):
    losses = []

    class StepLosses(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            losses.append((float(outputs["loss"]), len(batch[0])))

    trainer = _trainer(tmp_path, log_every_n_steps=log_every_n_steps, callbacks=[StepLosses()])
    trainer.fit(engine_for(BetaVAE, **SMALL), _loader(count=10))  # batches of 4, 4, 2 images
    last_epoch = losses[-3:]
    expected = sum(loss * n for loss, n in last_epoch) / sum(n for _, n in last_epoch)
    assert trainer.callback_metrics["train/loss_epoch"].item() == pytest.approx(expected, rel=1e-5)


def test_a_loss_that_stops_being_finite_stops_the_run_with_the_terms_that_broke(tmp_path):
    engine = engine_for(BetaVAE, lr=1e30, **SMALL)
    with pytest.raises(TrainingDivergedError, match=r"train/loss=(nan|inf).*optimizer.lr=1e\+30"):
        _trainer(tmp_path, max_epochs=5, log_every_n_steps=1).fit(engine, _loader())


def test_a_checkpoint_rebuilds_the_engine_and_its_model_with_no_arguments(tmp_path):
    engine = engine_for(BetaVAE, beta=3.0, **SMALL)
    trainer = _trainer(tmp_path, max_epochs=1)
    trainer.fit(engine, _loader())
    path = tmp_path / "engine.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint[FORMAT_KEY] == FORMAT_VERSION
    assert checkpoint[CLASSES_KEY]["model"] == "vae_lightning.models.beta_vae.BetaVAE"
    assert checkpoint["hyper_parameters"]["model"]["beta"] == 3.0
    restored = TrainingEngine.load_from_checkpoint(path, weights_only=True)
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(restored.model.encode(x)[0], engine.model.encode(x)[0])
    assert restored.model.hparams == engine.model.hparams


def test_per_dimension_terms_are_averaged_over_evaluation_weighted_by_images(tmp_path):
    engine = engine_for(BetaVAE, **SMALL)
    loader = _loader(count=10)
    _trainer(tmp_path, max_epochs=1).test(engine, loader, verbose=False)
    expected = torch.zeros(2)
    with torch.no_grad():
        for x, labels in loader:
            expected += engine.model.objective(x, labels, None)["kl_per_dim"] * len(x)
    assert torch.allclose(engine.per_dimension_terms("test")["kl_per_dim"], expected / 10, rtol=1e-5)
    assert math.isclose(engine.per_dimension_terms("test")["kl_per_dim"].sum().item(),
                        _trainer(tmp_path, max_epochs=1).test(engine, loader, verbose=False)[0]["test/kl"],
                        rel_tol=1e-4)


def test_the_test_draws_do_not_depend_on_what_ran_before(tmp_path):
    engine, loader = engine_for(BetaVAE, **SMALL), _loader()
    trainer = _trainer(tmp_path)
    results = []
    for seed in (1, 2):
        torch.manual_seed(seed)  # as if training or validation had drawn more or fewer samples before the test
        (result,) = trainer.test(engine, loader, verbose=False)
        results.append(result["test/loss"])
    assert results[0] == results[1]


@pytest.mark.parametrize(("limit", "tested"), [(None, 10), (2, 8)])
def test_the_engine_counts_the_images_a_test_actually_evaluated(tmp_path, limit, tested):
    engine = engine_for(BetaVAE, **SMALL)
    limits = {} if limit is None else {"limit_test_batches": limit}
    trainer = _trainer(tmp_path, max_epochs=1, **limits)
    trainer.test(engine, _loader(count=10), verbose=False)
    trainer.test(engine, _loader(count=10), verbose=False)  # a second test counts afresh
    assert engine.num_tested_images() == tested
