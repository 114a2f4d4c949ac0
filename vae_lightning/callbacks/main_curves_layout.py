"""A TensorBoard Custom Scalars page that opens on the objective, training and validation on one chart per term:
the curves a person looks at first, ahead of Lightning's `epoch` counter and the image cards."""

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

# Chart title → the training epoch mean and the validation value of that term (regular expressions, anchored).
MAIN_CURVES = {
    "loss": "loss",
    "negative ELBO": "neg_elbo",
    "reconstruction −log p(x|z)": "recon",
    "KL (the rate)": "kl",
}


def main_curves_layout() -> dict[str, dict[str, list]]:
    return {"Objective, nats per image (train epoch mean and validation)": {
        title: ["Multiline", [f"^train/{term}_epoch$", f"^val/{term}$"]] for title, term in MAIN_CURVES.items()}}


class MainCurvesLayout(L.Callback):
    """Writes the Custom Scalars layout once, when fitting starts."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_custom_scalars(main_curves_layout())
