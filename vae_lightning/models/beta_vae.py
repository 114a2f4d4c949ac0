"""The β-VAE (`model=conv_vae`, Higgins et al. 2017): loss = −log p(x|z) + β·KL(q(z|x) ‖ N(0, I)), with the KL
weight on a schedule (`kl_schedules`): constant, a linear warm-up, or the capacity objective of Burgess et al. 2018."""

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from vae_lightning.models.contract import require
from vae_lightning.models.kl_schedules import KLSchedule
from vae_lightning.models.vae import VAE


class BetaVAE(VAE):
    """Logs `loss`, `recon`, `kl`, `neg_elbo` (nats/image), `kl_per_dim`, and the schedule's KL weight and capacity
    while they change."""

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), beta: float = 1.0, kl_schedule: str = "constant",
                 kl_warmup_steps: int = 0, capacity_max: float = 0.0, capacity_steps: int = 0,
                 **vae_settings: Any) -> None:
        require(beta >= 0, "model.beta", beta, "β weights the KL term and must be ≥ 0")
        self.keep_settings(beta=beta, kl_schedule=kl_schedule, kl_warmup_steps=kl_warmup_steps,
                           capacity_max=capacity_max, capacity_steps=capacity_steps)
        super().__init__(image_shape, **vae_settings)
        self.kl_schedule = KLSchedule(kl_schedule, beta, kl_warmup_steps, capacity_max, capacity_steps)

    def objective(self, x: Tensor, labels: Tensor | None, step: int | None) -> dict[str, Tensor]:
        return self.beta_vae_terms(self(x, labels), x, step)

    def beta_vae_terms(self, out: Any, x: Tensor, step: int | None) -> dict[str, Tensor]:
        """The ELBO's terms and loss = recon + the scheduled KL penalty; a subclass adds its own terms to these."""
        parts = self.elbo_parts(out, x)
        terms = self.elbo_terms(parts, x)
        return {"loss": (parts.recon + self.kl_schedule.penalty(parts.kl, step)).mean(), **terms}

    def schedule_values(self, step: int) -> dict[str, float]:
        if self.kl_schedule.kind == "constant":
            return {}
        return {"kl_weight": self.kl_schedule.weight(step), "capacity": self.kl_schedule.capacity(step)}
