"""Decoder distributions p(x | z) whose −log p is a real likelihood, each saying what its number is.

Every class takes the decoder's raw output (B, decoder_channels(C), H, W) and images x (B, C, H, W) in [0, 1], and
returns −log p(x | z) per image in nats, summed over pixels, so the β-VAE loss keeps the units of `objectives.py`.
Class attributes say what that number is for the data it is used on (`describe` turns them into a report line):

- `normalised`: it is −log of a density or mass that integrates or sums to 1 over the class's `support`;
- `discrete_8bit`: it is (a bound on) −log P of 8-bit pixels, so bits/dim compare with the literature.

`bernoulli` is an exact mass only on binary pixels; on grey pixels the same computation is binary cross-entropy, a
reconstruction loss and not a likelihood (grey x has no Bernoulli mass). The 8-bit choices are `discretized_logistic`
(an exact mass over the 256 values) and `gaussian` on uniformly dequantised pixels (a bound; see `GaussianLikelihood`).
"""

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_lightning.errors import ConfigError

NUM_LEVELS = 256  # values of an 8-bit pixel; the data hold k / 255 for k = 0 … 255


def _device(generator: torch.Generator | None, t: Tensor) -> torch.device:
    """Where to draw: on the generator's device (a CPU generator keeps draws device-independent), else t's."""
    return generator.device if generator is not None else t.device


def _uniform_like(t: Tensor, generator: torch.Generator | None) -> Tensor:
    """U(0, 1) of t's shape, strictly inside (0, 1) so logs and inverse CDFs stay finite."""
    u = torch.rand(t.shape, generator=generator, dtype=t.dtype, device=_device(generator, t))
    tiny = torch.finfo(t.dtype).tiny
    return u.to(t.device).clamp(tiny, 1 - torch.finfo(t.dtype).eps)


def bits_per_dim(nats_per_image: Tensor | float, num_dims: int) -> Tensor | float:
    """Nats per image → bits per dimension: nats / (D · ln 2), D = C·H·W. Only meaningful for a discrete mass (or a
    bound on one, see `GaussianLikelihood.discrete_nats`) of the data the number is reported for."""
    return nats_per_image / (num_dims * math.log(2))


def dequantize(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Uniform dequantisation of 8-bit images x = k / 255: x̃ = (k + u) / 256 with u ~ U[0, 1) per pixel, so x̃ falls
    in the k-th of 256 equal bins of [0, 1) (Theis et al. 2016; Ho et al. 2019)."""
    return (torch.round(x * (NUM_LEVELS - 1)) + _uniform_like(x, generator)) / NUM_LEVELS


def _per_image(per_pixel: Tensor) -> Tensor:
    return per_pixel.flatten(1).sum(1)


class DecoderLikelihood(nn.Module):
    """The interface: what the decoder must output, −log p(x | z) per image, a display mean and a sample."""

    name: ClassVar[str]
    support: ClassVar[str]  # the x the distribution is normalised over: "{0,1}", "[0,1]", "256 levels", "R"
    normalised: bool = True
    discrete_8bit: bool = False

    def decoder_channels(self, image_channels: int) -> int:
        """Output channels the decoder needs for images with `image_channels` channels."""
        return image_channels

    def model_target(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """What `neg_log_likelihood` is evaluated on for the batch x: x itself unless the model dequantises."""
        return x

    def neg_log_likelihood(self, decoder_output: Tensor, x: Tensor) -> Tensor:
        """−log p(x | z) per image (B,), in nats, summed over pixels; x in [0, 1]."""
        raise NotImplementedError

    def discrete_nats(self, nats_per_image: Tensor, num_dims: int) -> Tensor:
        """−log P (or a bound on it) of the 8-bit image, nats per image, from this likelihood's number for it; feed it
        to `bits_per_dim`. Unchanged for a discrete 8-bit mass; an error where the number bounds no such mass."""
        if not self.discrete_8bit:
            raise ConfigError(f"model.likelihood={self.name!r} is not a likelihood of 8-bit pixels, so it has no "
                              "bits/dim: use 'discretized_logistic', or 'gaussian' with model.dequantize=true.")
        return nats_per_image

    def mean(self, decoder_output: Tensor) -> Tensor:
        """E[x | z] (B, C, H, W), the image to display."""
        raise NotImplementedError

    def sample(self, decoder_output: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw x ~ p(x | z) (B, C, H, W)."""
        raise NotImplementedError


class BernoulliLikelihood(DecoderLikelihood):
    """p(x | z) = Π Bernoulli(x; sigmoid(logits)): an exact log-mass on binary pixels, binary cross-entropy (a
    reconstruction loss, not a likelihood) on grey ones."""

    name = "bernoulli"
    support = "{0,1}"

    def neg_log_likelihood(self, decoder_output: Tensor, x: Tensor) -> Tensor:
        return _per_image(F.binary_cross_entropy_with_logits(decoder_output, x, reduction="none"))

    def mean(self, decoder_output: Tensor) -> Tensor:
        return torch.sigmoid(decoder_output)

    def sample(self, decoder_output: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return (_uniform_like(decoder_output, generator) < self.mean(decoder_output)).to(decoder_output.dtype)


# Below this |logit| the continuous Bernoulli's log C and mean use their Taylor series: the closed forms divide two
# vanishing quantities there. The first omitted terms are O(η⁸) and O(η⁷) (< 1e-11 at the cut-off).
CB_TAYLOR_CUTOFF = 0.1


def continuous_bernoulli_log_normalizer(logits: Tensor) -> Tensor:
    """log C(λ) with λ = sigmoid(η) for logits η, Loaiza-Ganem & Cunningham (2019).

    C(λ) = 2 artanh(1 − 2λ) / (1 − 2λ); in logits 1 − 2λ = −tanh(η/2) and artanh(1 − 2λ) = −η/2, so C = η / tanh(η/2),
    even in η, with C(0) = 2. With a = |η|: log C = log a − log tanh(a/2), log tanh(a/2) = log(−expm1(−a)) −
    softplus(−a). Near 0 (u = η/2): log C = log 2 + u²/3 − 7u⁴/90 + 62u⁶/2835 + O(u⁸).
    """
    a = logits.abs()
    small = a < CB_TAYLOR_CUTOFF
    a_far = torch.where(small, torch.full_like(a, CB_TAYLOR_CUTOFF), a)  # keeps the unused branch finite for grads
    closed_form = torch.log(a_far) - torch.log(-torch.expm1(-a_far)) + F.softplus(-a_far)
    u2 = (logits / 2).pow(2)
    series = math.log(2.0) + u2 * (1 / 3 + u2 * (-7 / 90 + u2 * 62 / 2835))
    return torch.where(small, series, closed_form)


def continuous_bernoulli_mean(logits: Tensor) -> Tensor:
    """E[x] = λ / (2λ − 1) + 1 / (2 artanh(1 − 2λ)) = ½ + ½ coth(η/2) − 1/η in logits, → ½ at η = 0; near 0 the
    series ½ + η/12 − η³/720 + η⁵/30240 + O(η⁷)."""
    small = logits.abs() < CB_TAYLOR_CUTOFF
    far = torch.where(small, torch.full_like(logits, CB_TAYLOR_CUTOFF), logits)
    closed_form = 0.5 + 0.5 / torch.tanh(far / 2) - 1 / far
    eta2 = logits.pow(2)
    series = 0.5 + logits * (1 / 12 + eta2 * (-1 / 720 + eta2 / 30240))
    return torch.where(small, series, closed_form)


class ContinuousBernoulliLikelihood(DecoderLikelihood):
    """p(x | λ) = C(λ) λˣ (1 − λ)¹⁻ˣ on x ∈ [0, 1] (Loaiza-Ganem & Cunningham 2019): the Bernoulli form made a
    density of grey pixels by its normaliser C(λ). λ = sigmoid(logits) is a shape parameter, not the mean."""

    name = "continuous_bernoulli"
    support = "[0,1]"

    def neg_log_likelihood(self, decoder_output: Tensor, x: Tensor) -> Tensor:
        bce = F.binary_cross_entropy_with_logits(decoder_output, x, reduction="none")
        return _per_image(bce - continuous_bernoulli_log_normalizer(decoder_output))

    def mean(self, decoder_output: Tensor) -> Tensor:
        return continuous_bernoulli_mean(decoder_output)

    def sample(self, decoder_output: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Inverse CDF: x = log(1 − u + u·eᶯ) / η, → u as η → 0 (then x ≈ u + u(1 − u)η/2)."""
        u = _uniform_like(decoder_output, generator)
        eta = decoder_output
        small = eta.abs() < 1e-3
        eta_far = torch.where(small, torch.ones_like(eta), eta)
        inverse_cdf = torch.logaddexp(torch.log1p(-u), torch.log(u) + eta_far) / eta_far
        return torch.where(small, u + u * (1 - u) * eta / 2, inverse_cdf).clamp(0, 1)


class DiscretizedLogisticMixtureLikelihood(DecoderLikelihood):
    """A mixture of `num_mixtures` logistics per pixel and channel, discretised to the 256 values k/255 (Salimans et
    al. 2017, PixelCNN++): bin k is [k/255 − 1/510, k/255 + 1/510], the edge bins reach to ±∞, so the 256 masses sum
    to 1 exactly. Channels are independent given z (no PixelCNN++ RGB coupling). num_mixtures = 1 is the plain
    discretised logistic.

    Decoder output channels: for image channel c, the block [c·3K, (c+1)·3K) holds K mixture logits, K locations
    (in [0, 1] pixel units) and K log-scales, in that order.
    """

    name = "discretized_logistic"
    support = "256 levels"
    discrete_8bit = True
    # Scales below e⁻⁸ ≈ 1/9 of a bin add nothing but huge gradients (PixelCNN++ clamps at e⁻⁷ on [−1, 1]).
    MIN_LOG_SCALE = -8.0
    # Below this bin width in units of the scale, the mid-bin density × width is exact to ~width²/24 < 1e-7, and the
    # difference of two log-sigmoids would lose its digits to rounding.
    MIDPOINT_WIDTH = 1e-3

    def __init__(self, num_mixtures: int = 5) -> None:
        super().__init__()
        self.num_mixtures = num_mixtures

    def decoder_channels(self, image_channels: int) -> int:
        return 3 * self.num_mixtures * image_channels

    def _split_output(self, decoder_output: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """log π, locations, log-scales, each (B, C, K, H, W)."""
        b, _, h, w = decoder_output.shape
        params = decoder_output.view(b, -1, 3, self.num_mixtures, h, w)
        log_weights = F.log_softmax(params[:, :, 0], dim=2)
        return log_weights, params[:, :, 1], params[:, :, 2].clamp(min=self.MIN_LOG_SCALE)

    def log_bin_mass(self, x: Tensor, loc: Tensor, log_scale: Tensor) -> Tensor:
        """log P(k) of one discretised logistic for x = k/255, stably: log σ(a) − σ(b) by log-sigmoid differences
        taken on the side of the location where they do not cancel, the mid-bin density for very wide scales."""
        k = torch.round(x * (NUM_LEVELS - 1))
        inv_scale = torch.exp(-log_scale)
        centred = k / (NUM_LEVELS - 1) - loc
        half_bin = 0.5 / (NUM_LEVELS - 1)
        upper = torch.where(k == NUM_LEVELS - 1, torch.full_like(centred, math.inf), inv_scale * (centred + half_bin))
        lower = torch.where(k == 0, torch.full_like(centred, -math.inf), inv_scale * (centred - half_bin))
        # σ(a) − σ(b) = σ(−b) − σ(−a): in the right tail difference the mirrored pair, which is then in the left tail.
        right = (upper + lower) > 0
        hi, lo = torch.where(right, -lower, upper), torch.where(right, -upper, lower)
        log_hi = F.logsigmoid(hi)
        # The clamp only acts where the midpoint branch is taken; it keeps that branch's unused gradient finite.
        log_ratio = (F.logsigmoid(lo) - log_hi).clamp(max=-1e-30)
        exact = log_hi + torch.log(-torch.expm1(log_ratio))
        mid = inv_scale * centred
        log_midpoint = mid - 2 * F.softplus(mid) - log_scale - math.log(NUM_LEVELS - 1)
        interior = (k > 0) & (k < NUM_LEVELS - 1)
        return torch.where(interior & (inv_scale * 2 * half_bin < self.MIDPOINT_WIDTH), log_midpoint, exact)

    def neg_log_likelihood(self, decoder_output: Tensor, x: Tensor) -> Tensor:
        log_weights, loc, log_scale = self._split_output(decoder_output)
        log_mass = torch.logsumexp(log_weights + self.log_bin_mass(x.unsqueeze(2), loc, log_scale), dim=2)
        return -_per_image(log_mass)

    def mean(self, decoder_output: Tensor) -> Tensor:
        """Exact mean of the discretised mixture: E[k/255] = (1/255) Σ_{k=1}^{255} P(k' ≥ k), a sum over bin edges."""
        log_weights, loc, log_scale = self._split_output(decoder_output)
        inv_scale = torch.exp(-log_scale)
        tail_sum = torch.zeros_like(loc)
        for k in range(1, NUM_LEVELS):
            tail_sum = tail_sum + torch.sigmoid(inv_scale * (loc - (k - 0.5) / (NUM_LEVELS - 1)))
        return (log_weights.exp() * tail_sum).sum(2) / (NUM_LEVELS - 1)

    def sample(self, decoder_output: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A component by the Gumbel-max trick, a logistic draw from it, rounded to the nearest level."""
        log_weights, loc, log_scale = self._split_output(decoder_output)
        gumbel = -torch.log(-torch.log(_uniform_like(log_weights, generator)))
        chosen = F.one_hot((log_weights + gumbel).argmax(2), self.num_mixtures).movedim(-1, 2).to(loc.dtype)
        u = _uniform_like(loc[:, :, 0], generator)
        draw = (chosen * loc).sum(2) + (chosen * log_scale).sum(2).exp() * (torch.log(u) - torch.log1p(-u))
        return torch.round(draw.clamp(0, 1) * (NUM_LEVELS - 1)) / (NUM_LEVELS - 1)


class GaussianLikelihood(DecoderLikelihood):
    """p(x | z) = N(sigmoid(logits), σ²) per pixel, σ fixed or learned (one scalar for all pixels): a density on R.

    With `dequantize` (for 8-bit data) the target is x̃ = (k + u)/256, u ~ U[0, 1)^D (`model_target`). The discrete
    model P(k) = ∫ p(y) dy over the bin [k/256, (k+1)/256)^D, of volume 256^−D, is P(k) = 256^−D E_u[p(x̃)], so by
    Jensen −log P(k) ≤ E_u[−log p(x̃)] + D ln 256 (Theis et al. 2016; Ho et al. 2019), and it stays an upper bound
    with −ELBO(x̃) in place of −log p(x̃). `discrete_nats` adds the D ln 256; in bits/dim the bound is
    (nats + D ln 256) / (D ln 2) = nats / (D ln 2) + 8. Gaussian mass outside [0, 1] makes the discrete model
    sub-normalised (Σ_k P(k) < 1), which only loosens the bound.
    """

    name = "gaussian"
    support = "R"
    # A learned σ collapsing to 0 would send −log p to −inf on pixels the decoder fits exactly.
    MIN_LOG_SIGMA = math.log(1e-3)

    def __init__(self, sigma: float = 0.1, learn_sigma: bool = False, dequantize: bool = True) -> None:
        super().__init__()
        self.dequantize = dequantize
        self.discrete_8bit = dequantize
        log_sigma = torch.tensor(math.log(sigma))
        if learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    def model_target(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return dequantize(x, generator) if self.dequantize else x

    def neg_log_likelihood(self, decoder_output: Tensor, x: Tensor) -> Tensor:
        log_sigma = self.log_sigma.clamp(min=self.MIN_LOG_SIGMA)
        z = (x - self.mean(decoder_output)) / log_sigma.exp()
        return _per_image(0.5 * z.pow(2) + log_sigma + 0.5 * math.log(2 * math.pi))

    def discrete_nats(self, nats_per_image: Tensor, num_dims: int) -> Tensor:
        """The bound on −log P(k) of the 8-bit image from −log p(x̃) of its dequantised version: + D ln 256."""
        return super().discrete_nats(nats_per_image, num_dims) + num_dims * math.log(NUM_LEVELS)

    def mean(self, decoder_output: Tensor) -> Tensor:
        return torch.sigmoid(decoder_output)

    def sample(self, decoder_output: Tensor, generator: torch.Generator | None = None) -> Tensor:
        mean = self.mean(decoder_output)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=_device(generator, mean))
        noise = noise.to(mean.device)
        return mean + self.log_sigma.clamp(min=self.MIN_LOG_SIGMA).exp() * noise


LIKELIHOODS: dict[str, type[DecoderLikelihood]] = {
    cls.name: cls for cls in (BernoulliLikelihood, ContinuousBernoulliLikelihood,
                              DiscretizedLogisticMixtureLikelihood, GaussianLikelihood)
}
_PURPOSES = {
    "bernoulli": "exact likelihood of binarised pixels (data.binarize); binary cross-entropy on grey ones",
    "continuous_bernoulli": "a density of grey pixels in [0, 1]",
    "discretized_logistic": "an exact mass over the 256 values of 8-bit pixels, bits/dim comparable with papers",
    "gaussian": "a density on R, on dequantised 8-bit pixels (model.dequantize) a bits/dim bound",
}


def _is_positive_finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def make_likelihood(name: str, gaussian_sigma: float = 0.1, learn_sigma: bool = False, dequantize: bool = True,
                    num_mixtures: int = 5) -> DecoderLikelihood:
    """The decoder distribution named by `model.likelihood`; only the settings that distribution uses are checked."""
    if name not in LIKELIHOODS:
        choices = "; ".join(f"'{n}': {purpose}" for n, purpose in _PURPOSES.items())
        raise ConfigError(f"model.likelihood={name!r} is not known. Choose one of {choices}.")
    if name == "gaussian":
        if not _is_positive_finite(gaussian_sigma):
            raise ConfigError(f"model.gaussian_sigma={gaussian_sigma!r} is not allowed: the Gaussian σ must be a "
                              "finite number > 0 in pixel units of [0, 1] (e.g. 0.1).")
        return GaussianLikelihood(float(gaussian_sigma), bool(learn_sigma), bool(dequantize))
    if name == "discretized_logistic":
        if isinstance(num_mixtures, bool) or not isinstance(num_mixtures, int) or num_mixtures < 1:
            raise ConfigError(f"model.num_mixtures={num_mixtures!r} is not allowed: it must be an integer >= 1, the "
                              "logistic components per pixel and channel (1 is the plain discretised logistic, "
                              "PixelCNN++ uses 5 or 10).")
        return DiscretizedLogisticMixtureLikelihood(num_mixtures)
    return LIKELIHOODS[name]()


def describe(likelihood: DecoderLikelihood, data_is_binary: bool) -> dict[str, object]:
    """What the reconstruction term and the −ELBO of this likelihood on these data are, for logs and reports.

    Keys: `quantity` (one sentence), `normalised` (−log of a density or mass that integrates to 1 over the data's
    values), `units` ("nats per image"), `bits_per_dim` (whether bits/dim of 8-bit data may be reported; for the
    dequantised Gaussian after `discrete_nats`), `density` (a continuous density: can go below 0 nats and is not
    comparable with a discrete mass).
    """
    report: dict[str, object] = {"likelihood": likelihood.name, "units": "nats per image",
                                 "normalised": likelihood.normalised, "bits_per_dim": likelihood.discrete_8bit,
                                 "density": likelihood.support in ("[0,1]", "R")}
    if isinstance(likelihood, BernoulliLikelihood):
        report["normalised"] = data_is_binary
        report["quantity"] = ("-log p(x|z): Bernoulli log-mass of binary pixels" if data_is_binary else
                              "binary cross-entropy on grey pixels: a reconstruction loss, not a likelihood (-ELBO "
                              "is not a bound on -log p(x))")
    elif isinstance(likelihood, ContinuousBernoulliLikelihood):
        report["quantity"] = "-log p(x|z): continuous Bernoulli density of pixels in [0, 1]"
    elif isinstance(likelihood, DiscretizedLogisticMixtureLikelihood):
        report["quantity"] = (f"-log P(x|z): mass of 8-bit pixels under a {likelihood.num_mixtures}-component "
                              "discretised logistic mixture")
    elif isinstance(likelihood, GaussianLikelihood) and likelihood.dequantize:
        report["quantity"] = ("-log p(x~|z): Gaussian density of uniformly dequantised pixels on R; adding "
                              "D ln 256 bounds -log P of the 8-bit image")
    else:
        report["quantity"] = "-log p(x|z): Gaussian density of the pixel values on R (no dequantisation)"
    return report
