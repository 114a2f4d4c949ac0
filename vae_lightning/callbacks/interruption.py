"""Tell the user, on Ctrl-C or SIGTERM, exactly how to continue the run they just stopped, and end a Ctrl-C with the
shell's status for it."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

# 128 + SIGINT: what a shell, `timeout` or a job script expects of a program stopped by Ctrl-C.
CTRL_C_EXIT_STATUS = 130


class ResumeHintOnInterrupt(L.Callback):
    """Prints the last checkpoint and the command that continues from it when training is interrupted: by Ctrl-C, or
    by SIGTERM, which a cluster sends before preempting a job or at its time limit (Lightning then stops at the end
    of the current batch). The epoch is counted from 1, as the progress display counts it.

    Put it after the progress display in the Trainer's callbacks: the display closes its bars in its own
    `on_exception`, and only then is the hint the last thing on screen."""

    def __init__(self, resume_command: str) -> None:
        self.resume_command = resume_command

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt | SIGTERMException):
            return
        checkpoint = trainer.checkpoint_callback.last_model_path if trainer.checkpoint_callback else ""
        kept = (f"Everything up to the last finished epoch is in {checkpoint}." if checkpoint
                else "No epoch had finished, so no checkpoint was written.")
        cause = "Stopped by SIGTERM" if isinstance(exception, SIGTERMException) else "Interrupted"
        print(f"\n{cause} during epoch {trainer.current_epoch + 1}, at step {trainer.global_step}. {kept} "
              f"Continue with:\n  {self.resume_command}", file=sys.stderr, flush=True)


@contextmanager
def ctrl_c_exit_status(trainer: L.Trainer) -> Iterator[None]:
    """Lightning ends a fit or test stopped by Ctrl-C with `sys.exit(1)`, the status of any failure; make it
    `CTRL_C_EXIT_STATUS`, so a script can tell a person's stop from an error."""
    try:
        yield
    except SystemExit as stop:
        if trainer.interrupted and stop.code == 1 and not isinstance(stop, SIGTERMException):
            raise SystemExit(CTRL_C_EXIT_STATUS) from stop
        raise
