"""The convolutional VAE: encoder q(z | x), decoder p(x | z) under a chosen likelihood, and the terms of the ELBO.

`VAE` is what every latent-variable model here shares — the network, the likelihood, encoding and decoding for the
analysis — and leaves the objective to its subclasses: `BetaVAE` weights the KL term, `IWAE` takes K samples. A
conditional subclass overrides `condition` to feed a label to both networks.
"""

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from vae_lightning.models.contract import GenerativeModel, require
from vae_lightning.models.likelihoods import bits_per_dim, describe, make_likelihood
from vae_lightning.models.nets.conv_vae import ConvVAE, VAEOutput
from vae_lightning.models.objectives import gaussian_kl_per_dim

LOG_2PI = math.log(2 * math.pi)


class ELBOParts(NamedTuple):
    recon: Tensor  # −log p(x | z) per image (B,)
    kl: Tensor  # KL(q(z | x) ‖ p(z)) per image (B,): in closed form, or a Monte Carlo estimate for a mixture prior
    kl_per_dim: Tensor  # per image and dimension (B, D); sums to `kl` for the factorised standard-normal prior

    @classmethod
    def closed_form(cls, recon: Tensor, kl_per_dim: Tensor) -> "ELBOParts":
        """The parts under the standard-normal prior, whose KL is the sum of its per-dimension KLs."""
        return cls(recon, kl_per_dim.sum(1), kl_per_dim)


class VAE(GenerativeModel):
    """A convolutional VAE with a standard-normal prior; terms are in nats per image, summed over pixels and latent
    dimensions and averaged over the batch, so β = 1 is the paper's ELBO."""

    needs_from_data: ClassVar[tuple[str, ...]] = ("image_shape",)
    term_descriptions: ClassVar[dict[str, str]] = {
        "loss": "the optimised objective (nats/image)",
        "neg_elbo": "negative ELBO (nats/image)",
        "recon": "reconstruction term −log p(x|z) (nats/image; a likelihood only where `likelihood` says so)",
        "kl": "KL(q(z|x) ‖ p(z)), the rate (nats/image)",
        "kl_per_dim": "KL per latent dimension (nats/image)",
        "bits_per_dim": "negative ELBO as a bound on −log P of the 8-bit image, in bits per dimension",
    }

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 32,
                 channels: Sequence[int] | None = None, kernel_size: int = 4, hidden_dim: int = 256,
                 likelihood: str = "bernoulli", gaussian_sigma: float = 0.1, learn_sigma: bool = False,
                 dequantize: bool = False, num_mixtures: int = 5) -> None:
        super().__init__()
        require(latent_dim >= 1, "model.latent_dim", latent_dim, "it must be an integer ≥ 1")
        require(channels is None or (len(channels) >= 1 and all(c >= 1 for c in channels)), "model.channels",
                channels if channels is None else list(channels),
                "it must be null (derived from the image size) or a non-empty list of positive channel counts, "
                "e.g. [32, 64]")
        require(kernel_size >= 2, "model.kernel_size", kernel_size, "it must be ≥ 2")
        require(hidden_dim >= 1, "model.hidden_dim", hidden_dim, "it must be ≥ 1")
        self.keep_settings(image_shape=list(image_shape), latent_dim=latent_dim,
                           channels=None if channels is None else list(channels), kernel_size=kernel_size,
                           hidden_dim=hidden_dim, likelihood=likelihood, gaussian_sigma=gaussian_sigma,
                           learn_sigma=learn_sigma, dequantize=dequantize, num_mixtures=num_mixtures)
        # dequantize defaults to false here, not in conf/model/conv_vae.yaml, so a checkpoint written before the
        # option existed (a Gaussian on raw pixels) loads with the behaviour it was trained with.
        self.likelihood = make_likelihood(likelihood, gaussian_sigma, learn_sigma, dequantize, num_mixtures)
        self.vae = self.build_network()

    def build_network(self, condition_dim: int = 0) -> ConvVAE:
        """Encoder and decoder from the settings; the decoder outputs what the likelihood needs per pixel."""
        h = self.hparams
        return ConvVAE(tuple(h.image_shape), h.latent_dim, h.channels, h.kernel_size, h.hidden_dim,
                       condition_dim=condition_dim,
                       output_channels=self.likelihood.decoder_channels(h.image_shape[0]))

    @property
    def conditional(self) -> bool:
        """Whether encoder and decoder take a condition vector made from the label (see `condition`)."""
        return False

    def condition(self, labels: Tensor | None) -> Tensor | None:
        """The vector that conditions encoder and decoder on `labels`; None for an unconditional model."""
        return None

    def forward(self, x: Tensor, labels: Tensor | None = None) -> VAEOutput:
        return self.vae(x, self.condition(labels))

    @torch.no_grad()
    def encode(self, x: Tensor, condition: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """μ and log σ² of q(z | x) (of q(z | x, c) for a conditional model, with c from `condition`)."""
        return self.vae.encoder(x, condition)

    @torch.no_grad()
    def decode_mean(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        """The decoder's mean image for each latent vector: what a reconstruction or sample looks like."""
        return self.likelihood.mean(self.vae.decoder(z, condition))

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None,
               labels: Tensor | None = None) -> Tensor:
        """Mean images of `num_samples` draws from the prior (under `labels` for a conditional model)."""
        return self.decode_mean(self.prior_sample(num_samples, generator), self.condition(labels))

    @torch.no_grad()
    def prior_sample(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """`num_samples` codes drawn from the prior p(z), on the model's device; here N(0, I)."""
        return torch.randn(num_samples, self.hparams.latent_dim, generator=generator).to(self.device)

    def log_prior(self, z: Tensor) -> Tensor:
        """log p(z) summed over the last (latent) dimension, for codes of any leading shape; here N(0, I). The IWAE
        bound of the analysis reads the prior from here, so a model with another prior overrides this."""
        return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)

    @contextmanager
    def fixed_prior(self) -> Iterator[None]:
        """A block in which the weights do not change (an evaluation), so a prior that costs a network pass per
        `log_prior` call can compute what does not depend on z once; N(0, I) costs nothing, so here it does nothing."""
        yield

    def elbo_parts(self, out: VAEOutput, x: Tensor) -> ELBOParts:
        """The ELBO's two parts per image for a forward pass, the KL in closed form. The likelihood is evaluated on
        its `model_target` (x, or x dequantised)."""
        recon = self.likelihood.neg_log_likelihood(out.decoder_output, self.likelihood.model_target(x))
        return ELBOParts.closed_form(recon, gaussian_kl_per_dim(out.mu, out.log_var))

    def elbo_terms(self, parts: ELBOParts, x: Tensor) -> dict[str, Tensor]:
        """`recon`, `kl`, `neg_elbo` and `kl_per_dim` as batch means, and the negative ELBO in bits/dim for a
        likelihood of 8-bit pixels."""
        terms = {"recon": parts.recon.mean(), "kl": parts.kl.mean(), "neg_elbo": (parts.recon + parts.kl).mean(),
                 "kl_per_dim": parts.kl_per_dim.mean(0)}
        if self.likelihood.discrete_8bit:
            num_dims = math.prod(x.shape[1:])
            terms["bits_per_dim"] = bits_per_dim(self.likelihood.discrete_nats(terms["neg_elbo"], num_dims), num_dims)
        return terms

    def describe_likelihood(self, data_is_binary: bool) -> dict[str, object]:
        """What the reconstruction term and the negative ELBO are on data that is (or is not) binary: a likelihood,
        or — a Bernoulli decoder on grey pixels — a reconstruction loss, not a likelihood (`likelihoods.describe`)."""
        return describe(self.likelihood, data_is_binary)
