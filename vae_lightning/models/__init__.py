from vae_lightning.models.classifier import ClassifierVAELitModule
from vae_lightning.models.conditional import ConditionalVAELitModule
from vae_lightning.models.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.lit_vae import VAELitModule
from vae_lightning.models.objectives import gaussian_kl_per_dim

# The LightningModules a checkpoint may name; analysis rebuilds a run's model only from this list.
MODELS: dict[str, type[VAELitModule]] = {
    cls.__name__: cls for cls in (VAELitModule, ConditionalVAELitModule, ClassifierVAELitModule)
}

__all__ = ["MODELS", "ClassifierVAELitModule", "ConditionalVAELitModule", "ConvVAE", "VAELitModule", "VAEOutput",
           "gaussian_kl_per_dim"]
