"""How strongly the KL term counts at each training step: constant β, a linear warm-up from 0 (Bowman et al. 2016),
or the capacity objective β·|KL − C| with C raised over training (Burgess et al. 2018).

Evaluation always uses the schedule's final value, so validation losses of different epochs are comparable and the
best checkpoint is chosen by the objective the run is heading for.
"""

import dataclasses

from torch import Tensor

from vae_lightning.errors import ConfigError

SCHEDULES = ("constant", "linear_warmup", "capacity")


@dataclasses.dataclass(frozen=True)
class KLSchedule:
    kind: str = "constant"
    beta: float = 1.0
    warmup_steps: int = 0
    capacity_max: float = 0.0
    capacity_steps: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ConfigError(f"model.kl_schedule={self.kind!r} is not allowed: use one of {', '.join(SCHEDULES)}.")
        if self.kind == "linear_warmup" and self.warmup_steps < 1:
            raise ConfigError(f"model.kl_warmup_steps={self.warmup_steps} is not allowed with kl_schedule="
                              "linear_warmup: it must be ≥ 1 (the steps over which β rises from 0).")
        if self.kind == "capacity" and (self.capacity_steps < 1 or self.capacity_max < 0):
            raise ConfigError(f"model.capacity_steps={self.capacity_steps}, model.capacity_max={self.capacity_max} "
                              "are not allowed with kl_schedule=capacity: steps must be ≥ 1 and the capacity ≥ 0 nats.")

    def weight(self, step: int | None) -> float:
        """The KL weight at `step`; None means the end of the schedule."""
        if self.kind != "linear_warmup" or step is None:
            return self.beta
        return self.beta * min(1.0, step / self.warmup_steps)

    def capacity(self, step: int | None) -> float:
        """The target KL in nats at `step` (0 outside the capacity schedule)."""
        if self.kind != "capacity":
            return 0.0
        return self.capacity_max * (1.0 if step is None else min(1.0, step / self.capacity_steps))

    def penalty(self, kl: Tensor, step: int | None) -> Tensor:
        """The KL term of the loss for per-image KLs `kl` (B,)."""
        if self.kind == "capacity":
            return self.weight(step) * (kl - self.capacity(step)).abs()
        return self.weight(step) * kl
