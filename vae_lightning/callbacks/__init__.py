from vae_lightning.callbacks.latent_panels import LatentPanels

__all__ = ["LatentPanels"]
