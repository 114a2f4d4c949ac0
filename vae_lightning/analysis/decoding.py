"""What a trained model draws: reconstructions (`decode` of `encode_means`), prior samples, latent traversals and
interpolations.

The TensorBoard panels, `analyze` and `report` all decode through here, under one rule for a conditional model's
labels: a code that came from an image is decoded under that image's label, and a draw from the prior is decoded under
every class asked for (a class × draw grid, the same z in every row), so what z carries and what the label carries
separate by eye. Everything returned is on the CPU, images in [0, 1].
"""

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from vae_lightning.analysis.interpolation import interpolate
from vae_lightning.analysis.traversal import traversal_latents
from vae_lightning.errors import ConfigError
from vae_lightning.models.vae import VAE


@torch.no_grad()
def decode(model: VAE, latents: Tensor, labels: Tensor | int | None = None) -> Tensor:
    """Decoder means (..., C, H, W) for latents (..., D); a conditional model decodes each under `labels` (one per
    latent, or one for all)."""
    flat = latents.reshape(-1, latents.shape[-1]).to(model.device)
    condition = model.condition(_labels_for(model, labels, len(flat)))
    return model.decode_mean(flat, condition).cpu().reshape(*latents.shape[:-1], *model.hparams.image_shape)


@torch.no_grad()
def encode_means(model: VAE, images: Tensor, labels: Tensor | None = None) -> Tensor:
    """μ of q(z | x) (N, D) on the CPU; a conditional model encodes each image with its label."""
    condition = model.condition(_labels_for(model, labels, len(images)))
    return model.encode(images.to(model.device), condition)[0].cpu()


def prior_samples(model: VAE, prior_z: Tensor, classes: Sequence[int] = ()) -> Tensor:
    """Decoded prior draws as rows (R, N, C, H, W): one row for an unconditional model; for a conditional model one
    row per class in `classes`, each decoding the same N draws."""
    if not model.conditional:
        return decode(model, prior_z)[None]
    if not classes:
        raise ConfigError("A conditional model's prior samples need the classes to draw them under; none were given.")
    return torch.stack([decode(model, prior_z, label) for label in classes])


def traverse(model: VAE, base: Tensor, dims: Sequence[int], offsets: Tensor,
             label: Tensor | int | None = None) -> Tensor:
    """Traversals (len(dims), len(offsets), C, H, W) around the code `base` (D,): row r shifts dimension dims[r] by
    each offset (in prior σ) and holds the others; decoded under the base image's `label`."""
    return decode(model, traversal_latents(base.cpu(), dims, offsets), label)


def interpolation(model: VAE, start: Tensor, end: Tensor, steps: int,
                  method: Literal["linear", "spherical"], labels: tuple[int, int] | None = None) -> Tensor:
    """The decoded path (steps, C, H, W) from code `start` to `end`; a conditional model's condition moves linearly
    from the first image's label to the second's along the same path."""
    path = interpolate(start.cpu(), end.cpu(), steps, method)
    if not model.conditional:
        return decode(model, path)
    if labels is None:
        raise ConfigError("A conditional model's interpolation needs the labels of both end images.")
    with torch.no_grad():
        ends = model.condition(torch.tensor(labels, device=model.device))
        condition = interpolate(ends[0], ends[1], steps, "linear")
        return model.decode_mean(path.to(model.device), condition).cpu()


def _labels_for(model: VAE, labels: Tensor | int | None, count: int) -> Tensor | None:
    """The labels a conditional model decodes `count` codes under; None for an unconditional model, or when none were
    given (the model's `condition` then says what it needs)."""
    if not model.conditional or labels is None:
        return None
    labels = torch.as_tensor(labels, device=model.device)
    return labels.expand(count) if labels.ndim == 0 else labels.reshape(count)
