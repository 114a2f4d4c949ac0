from vae_lightning.models.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.lit_vae import VAELitModule
from vae_lightning.models.objectives import gaussian_kl_per_dim

__all__ = ["ConvVAE", "VAELitModule", "VAEOutput", "gaussian_kl_per_dim"]
