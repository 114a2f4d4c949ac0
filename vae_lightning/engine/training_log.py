"""Training terms logged once per logger write instead of at every step: the engine's one piece of speed work.

Each `self.log` call costs Lightning a walk over its result collection, about 2 ms per step for the default model's
five terms on a 2-core CPU (benchmarks/step_overhead.py): 2–3% of a default CPU step and more than a whole GPU step.
So the scalar terms are summed on the device, weighted by their images, and logged as their mean when the logger
writes (`trainer.log_every_n_steps`, the epoch's last batch, the run's last step): the epoch means are those of
logging every step, `train/*_step` is the mean since the previous write, and the one host read per write is where a
non-finite loss is caught, at the latest on the epoch's last batch, before validation and checkpoints.
`tests/unit/engine/test_engine.py` holds it to the values of logging every step under the installed Lightning.
"""

import lightning as L
import torch
from torch import Tensor


class TrainingLog:
    """Sums of the scalar terms since the logger's last write, and the images they cover."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.sums: Tensor | None = None
        self.images = 0

    def add(self, scalars: dict[str, Tensor], batch_size: int) -> None:
        weighted = torch.stack([value.detach() for value in scalars.values()]) * batch_size
        if self.sums is None or list(scalars) != self.names:
            self.names, self.sums, self.images = list(scalars), weighted, batch_size
        else:
            self.sums, self.images = self.sums + weighted, self.images + batch_size

    def due(self, trainer: L.Trainer, step: int) -> bool:
        """Whether Lightning's logger writes after optimiser step `step` (0-based) of this batch."""
        done = step + 1
        return (done % trainer.log_every_n_steps == 0 or trainer.is_last_batch or done == trainer.max_steps
                or trainer.should_stop)

    def flush(self) -> tuple[dict[str, Tensor], int]:
        """The mean of each term since the last write, and the images they cover; starts a new window."""
        means, images = self.sums / self.images, self.images
        self.sums, self.images = None, 0
        return dict(zip(self.names, means.unbind(), strict=True)), images

    def reset(self) -> None:
        """Forget a window an interrupted fit left behind."""
        self.sums, self.images = None, 0
