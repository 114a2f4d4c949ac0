"""vae_lightning: convolutional VAEs on PyTorch Lightning and Hydra, built for understanding the latent space."""

__version__ = "0.2.0"
