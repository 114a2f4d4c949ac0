from vae_lightning.models.beta_tcvae import BetaTCVAELitModule
from vae_lightning.models.classifier import ClassifierVAELitModule
from vae_lightning.models.conditional import ConditionalVAELitModule
from vae_lightning.models.factor_vae import FactorVAELitModule
from vae_lightning.models.nets.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.objectives import gaussian_kl_per_dim
from vae_lightning.models.vae import VAELitModule

__all__ = ["BetaTCVAELitModule", "ClassifierVAELitModule", "ConditionalVAELitModule", "ConvVAE",
           "FactorVAELitModule", "VAELitModule", "VAEOutput", "gaussian_kl_per_dim"]
