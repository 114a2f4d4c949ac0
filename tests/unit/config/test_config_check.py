"""Start-up config validation on the real composed config: every bad value names its key, value and what is allowed
(the CLI tests in test_reliability.py show that this happens before any directory is made)."""

import pytest

from tests.config_helpers import compose_train
from vae_lightning.cli.config_check import validate_train_config
from vae_lightning.errors import ConfigError

BAD_INPUTS = [
    ("model.beta=-1", "model.beta=-1 is not allowed"),
    ("data.limit_train_samples=0", "data.limit_train_samples=0 is not allowed"),
    ("model.beta=abc", "model.beta='abc' is not allowed: it must be a number"),
    ("model.latent_dim=0", "model.latent_dim=0 is not allowed"),
    ("model.latent_dim=1.5", "model.latent_dim=1.5 is not allowed: it must be an integer"),
    ("model.latent_dim=true", "model.latent_dim=True is not allowed: it must be an integer"),
    ("model.channels=[]", "model.channels=[] is not allowed"),
    ("model.channels=[4,-1]", "model.channels=[4, -1] is not allowed"),
    ("model.channels=[8,16,32]", "cannot pass through 3 stride-2 convolution layers"),
    ("model.kernel_size=1", "model.kernel_size=1 is not allowed"),
    ("model.likelihood=poisson", "model.likelihood"),
    ("model.kl_schedule=cyclic", "model.kl_schedule='cyclic' is not allowed"),
    ("model.kl_schedule=linear_warmup", "model.kl_warmup_steps=0 is not allowed"),
    ("+model.betta=2", "model.betta is not an argument of vae_lightning.models.BetaVAE"),
    ("optimizer.lr=0", "optimizer.lr=0 is not allowed"),
    ("optimizer.lr=-0.1", "optimizer.lr=-0.1 is not allowed"),
    ("+optimizer.momentum=0.9", "optimizer.momentum is not an argument of torch.optim.Adam"),
    ("optimizer=sgd optimizer.momentum=-1", "Invalid momentum value: -1"),
    ("scheduler=step scheduler.step_size=x", "scheduler.step_size='x' is not allowed"),
    ("model=iwae model.k=0", "model.k=0 is not allowed"),
    ("model=ddpm model.timesteps=10", "model.timesteps=10 is not allowed"),
    ("model=ddpm model.sampler=euler", "model.sampler='euler' is not allowed"),
    ("model=dcgan model.width=0", "model.width=0 is not allowed"),
    ("model=dcgan optimizer=sgd", "optimizer.betas is not an argument of torch.optim.SGD"),
    ("model=iwae model.beta=4", "model.beta"),
    ("model=vamp model.num_pseudo_inputs=0", "model.num_pseudo_inputs=0 is not allowed"),
    ("model=beta_tcvae +model.kl_schedule=linear_warmup",
     "model.kl_schedule is not an argument of vae_lightning.models.BetaTCVAE"),
    ("data.name=cifar10", "data.name='cifar10' is not allowed"),
    ("data.batch_size=0", "data.batch_size=0 is not allowed"),
    ("data.val_fraction=1.5", "data.val_fraction=1.5 is not allowed"),
    ("data.loader=fast", "data.loader='fast' is not allowed"),
    ("data.num_workers=-1", "data.num_workers=-1 is not allowed"),
    ("+data.shuffle=false", "data.shuffle is not an argument of vae_lightning.data.MNISTFamilyDataModule"),
    ("trainer.max_epochs=abc", "trainer.max_epochs='abc' is not allowed: it must be an integer"),
    ("trainer.limit_train_batches=some", "trainer.limit_train_batches='some' is not allowed"),
    ("+trainer.max_epoch=3", "trainer.max_epoch is not an argument of lightning.pytorch.Trainer"),
    ("trainer.devices=[0]", "The trainer settings were refused by Lightning"),
    ("trainer.precision=17", "The trainer settings were refused by Lightning"),
    ("+callbacks.latent_panels.colour=red", "callbacks.latent_panels.colour is not an argument"),
    ("seed=abc", "seed='abc' is not allowed: it must be an integer"),
    ("seed=1.5", "seed=1.5 is not allowed: it must be an integer"),
    ("redo=maybe", "redo='maybe' is not allowed: it must be true or false"),
    ("threads=two", "threads='two' is not allowed"),
    # Non-finite or out-of-range numbers, a misspelt monitor, analysis overrides (issue 16).
    ("model.beta=inf", "model.beta=inf is not allowed: every number must be finite"),
    ("model.beta=nan", "model.beta=nan is not allowed: every number must be finite"),
    ("optimizer.lr=inf", "optimizer.lr=inf is not allowed"),
    ("optimizer.lr=1e39", "optimizer.lr=1e+39 is not allowed"),
    ("model.likelihood=gaussian model.gaussian_sigma=nan", "model.gaussian_sigma=nan is not allowed"),
    ("model.gaussian_sigma=inf", "model.gaussian_sigma=inf is not allowed"),
    ("model.capacity_max=-inf", "model.capacity_max=-inf is not allowed"),
    ("threads=-1", "threads=-1 is not allowed"),
    ("threads=0", "threads=0 is not allowed"),
    ("callbacks.checkpoint.monitor=val/los", "callbacks.checkpoint.monitor='val/los' is not a quantity"),
    ('analysis=["iwae.num_images=abc"]', "iwae.num_images must be an integer"),
    ('analysis=["iwea.num_images=5"]', "'iwea.num_images=5' is not allowed: it must be key=value with a key"),
    ('analysis=["latent_map.tsne"]', "it must be key=value"),
    # Integer literals that pass the types and fail once the run folder exists (issue 26, item 8).
    (f"model.beta={10**42}", f"model.beta={10**42} is not allowed: it has 43 digits"),
    (f"optimizer.lr={10**42}", f"optimizer.lr={10**42} is not allowed"),
    (f"data.batch_size={10**20}", f"data.batch_size={10**20} is not allowed"),
    (f"model.latent_dim={2**64}", f"model.latent_dim={2**64} is not allowed"),
    ("seed=-1", "seed=-1 is not allowed: numpy and Lightning take seeds from 0 to 4294967295"),
    ("seed=99999999999999999999999", "seed=99999999999999999999999 is not allowed"),
    ("seed=4294967296", "seed=4294967296 is not allowed"),
    ("threads=100000", "threads=100000 is not allowed: it must be null (torch's default, all cores) or an integer "
                       "from 1 to 1024"),
]


@pytest.mark.parametrize(("override", "message"), BAD_INPUTS)
def test_each_bad_value_is_refused_with_its_key_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError) as refused:
        validate_train_config(compose_train(*override.split(" ")))
    assert message in str(refused.value)


@pytest.mark.parametrize("overrides", [
    [], ["data=fashion", "model.beta=100", "model.latent_dim=1"], ["model.latent_dim=256", "seed=7"],
    ["model.kl_schedule=linear_warmup", "model.kl_warmup_steps=1000"], ["seed=4294967295", "threads=1024"],
    ["model.kl_schedule=capacity", "model.capacity_max=25", "model.capacity_steps=10000"],
    ["trainer.limit_train_batches=0.25", "trainer.limit_val_batches=3", "+trainer.gradient_clip_val=1.0"],
    ["model.likelihood=gaussian", "model.learn_sigma=true", "optimizer=adamw", "threads=1"],
    ["optimizer=sgd", "scheduler=cosine"], ["scheduler=step", "model=factor_vae"], ["model=iwae", "model.k=10"],
    ["callbacks.checkpoint.monitor=val/neg_elbo", 'analysis=["iwae.num_images=100","latent_map.tsne=true"]'],
    ["model=dcgan", "model.latent_dim=16", "optimizer=adamw"], ["model=ddpm", "model.sampler=ancestral"],
])
def test_valid_configs_pass(overrides):
    validate_train_config(compose_train(*overrides))


def test_model_dcgan_brings_the_papers_adam_and_keeps_the_latest_epoch():
    cfg = compose_train("model=dcgan")
    assert (cfg.optimizer.lr, list(cfg.optimizer.betas)) == (2e-4, [0.5, 0.999])
    assert cfg.callbacks.checkpoint.monitor is None  # a GAN's validation losses do not rank its samples
    assert compose_train("model=dcgan", "optimizer.lr=1e-4").optimizer.lr == 1e-4  # the command line still wins
