"""Tell the user, on Ctrl-C, exactly how to continue the run they just stopped."""

import sys

import lightning as L


class ResumeHintOnInterrupt(L.Callback):
    """Prints the last checkpoint and the command that continues from it when training is interrupted."""

    def __init__(self, resume_command: str) -> None:
        self.resume_command = resume_command

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt):
            return
        checkpoint = trainer.checkpoint_callback.last_model_path if trainer.checkpoint_callback else ""
        kept = (f"Everything up to the last finished epoch is in {checkpoint}." if checkpoint
                else "No epoch had finished, so no checkpoint was written.")
        print(f"\nInterrupted at epoch {trainer.current_epoch}, step {trainer.global_step}. {kept} Continue with:\n"
              f"  {self.resume_command}", file=sys.stderr)
