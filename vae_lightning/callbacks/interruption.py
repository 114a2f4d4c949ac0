"""Tell the user, on Ctrl-C or SIGTERM, exactly how to continue the run they just stopped."""

import sys

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException


class ResumeHintOnInterrupt(L.Callback):
    """Prints the last checkpoint and the command that continues from it when training is interrupted: by Ctrl-C, or
    by SIGTERM, which a cluster sends before preempting a job or at its time limit (Lightning then stops at the end
    of the current batch)."""

    def __init__(self, resume_command: str) -> None:
        self.resume_command = resume_command

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt | SIGTERMException):
            return
        checkpoint = trainer.checkpoint_callback.last_model_path if trainer.checkpoint_callback else ""
        kept = (f"Everything up to the last finished epoch is in {checkpoint}." if checkpoint
                else "No epoch had finished, so no checkpoint was written.")
        cause = "Stopped by SIGTERM" if isinstance(exception, SIGTERMException) else "Interrupted"
        print(f"\n{cause} at epoch {trainer.current_epoch}, step {trainer.global_step}. {kept} Continue with:\n"
              f"  {self.resume_command}", file=sys.stderr)
