"""Training losses within the first epoch of a short run: an epoch shorter than `trainer.log_every_n_steps` would
otherwise log no training loss, and the progress display show none, until the step count reaches the interval."""

import math

import lightning as L

# Logger writes per epoch when the configured interval is longer than an epoch, as often as the plain progress lines.
WRITES_PER_SHORT_EPOCH = 10


def interval_for(batches_per_epoch: int, configured: int) -> int:
    """`configured`, or an interval that writes about `WRITES_PER_SHORT_EPOCH` times an epoch when an epoch has fewer
    batches than `configured`."""
    if configured <= 0 or batches_per_epoch >= configured:
        return configured
    return max(1, math.ceil(batches_per_epoch / WRITES_PER_SHORT_EPOCH))


class LoggingIntervalForShortEpochs(L.Callback):
    """Shortens `trainer.log_every_n_steps` to `interval_for`'s value when an epoch is shorter, and says so in one
    line, in place of Lightning's warning. Only when the logger writes changes: the losses themselves do not."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        batches, configured = trainer.num_training_batches, trainer.log_every_n_steps
        if math.isinf(batches) or not trainer.loggers:  # an endless loader: no epoch length to go by
            return
        batches = int(batches)
        shortened = interval_for(batches, configured)
        if shortened != configured:
            trainer.log_every_n_steps = shortened
            if trainer.is_global_zero:
                print(f"An epoch has {batches} batches, fewer than trainer.log_every_n_steps={configured}: the "
                      f"training losses are logged every {shortened} step{'s' * (shortened != 1)} instead.",
                      flush=True)
