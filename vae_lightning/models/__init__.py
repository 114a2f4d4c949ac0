"""Models as plain `nn.Module`s on one contract (`contract.GenerativeModel`); the engine trains any of them."""

from vae_lightning.models.beta_tcvae import BetaTCVAE
from vae_lightning.models.beta_vae import BetaVAE
from vae_lightning.models.classifier import ClassifierVAE
from vae_lightning.models.conditional import ConditionalVAE
from vae_lightning.models.contract import GenerativeModel, OptimisedLoss
from vae_lightning.models.dcgan import DCGAN
from vae_lightning.models.ddpm import DDPM
from vae_lightning.models.factor_vae import FactorVAE
from vae_lightning.models.iwae import IWAE
from vae_lightning.models.vae import VAE
from vae_lightning.models.vamp import VampPrior

__all__ = ["DCGAN", "DDPM", "VAE", "BetaTCVAE", "BetaVAE", "ClassifierVAE", "ConditionalVAE", "FactorVAE",
           "GenerativeModel", "IWAE", "OptimisedLoss", "VampPrior"]
