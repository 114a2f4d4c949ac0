"""What a vae_lightning checkpoint carries beside Lightning's own keys, in one place, and how a checkpoint of the
first format (before the engine and plain models) is read as the current one.

Format 2 (this version): `hyper_parameters` = {"model": the model's config node with `_target_`, "optimizer": a
`_partial_` torch.optim node, "scheduler": one or None}; weights under `model.`. Format 1 (no `vae_lightning_format`
key): one LightningModule per model (`VAELitModule` and subclasses) with flat hyper-parameters, the optimiser as
`optimizer`/`lr`/`weight_decay`, and weights at the top level. Format-1 checkpoints of the shipped models are
converted on reading, so they analyse as before; continuing a format-1 run is refused (`check_resumable`).
"""

from typing import Any

from vae_lightning.errors import CheckpointError

FORMAT_KEY = "vae_lightning_format"
FORMAT_VERSION = 2
# The import paths of the model and data-module classes that wrote a checkpoint.
CLASSES_KEY = "vae_lightning_classes"
# torch's CPU thread count of the run (callbacks/threads.py): the same count is needed to continue it exactly.
THREADS_KEY = "vae_lightning_threads"
# Seconds of fitting that produced the checkpoint, over every attempt (callbacks/fit_time.py).
FIT_SECONDS_KEY = "vae_lightning_fit_seconds"
# The fingerprints of the data the run trains and is scored on ({"train": …, "val": …, "test": …}, data/fingerprint.py)
# and the Trainer's precision: a continued run must read the same images and compute in the same precision.
DATA_KEY = "vae_lightning_data"
PRECISION_KEY = "vae_lightning_precision"

# Format 1's model classes (recorded by import path or, earlier still, by name) and what they are now.
FORMAT1_MODELS = {
    "VAELitModule": "vae_lightning.models.BetaVAE",
    "ConditionalVAELitModule": "vae_lightning.models.ConditionalVAE",
    "ClassifierVAELitModule": "vae_lightning.models.ClassifierVAE",
    "BetaTCVAELitModule": "vae_lightning.models.BetaTCVAE",
    "FactorVAELitModule": "vae_lightning.models.FactorVAE",
}
FORMAT1_OPTIMIZERS = {"adam": "torch.optim.Adam", "adamw": "torch.optim.AdamW"}
# Format 1 kept these on every model; β-TCVAE refused any schedule but the constant one, so it takes none of them.
FORMAT1_SCHEDULE_KEYS = ("kl_schedule", "kl_warmup_steps", "capacity_max", "capacity_steps")


def import_path(cls: type) -> str:
    """`module.ClassName`, what a checkpoint records so the class can be found again."""
    return f"{cls.__module__}.{cls.__qualname__}"


def format_of(checkpoint: dict[str, Any]) -> int:
    return checkpoint.get(FORMAT_KEY, 1)


def as_current_format(checkpoint: dict[str, Any], path: object) -> dict[str, Any]:
    """`checkpoint` in format 2: unchanged when it is, converted from format 1 when it holds a shipped model."""
    if format_of(checkpoint) == FORMAT_VERSION:
        return checkpoint
    recorded = (checkpoint.get(CLASSES_KEY) or {}).get("model") or "VAELitModule"
    target = FORMAT1_MODELS.get(recorded.rpartition(".")[2]) if recorded.startswith(("vae_lightning.", "VAE")) \
        or "." not in recorded else None
    if target is None:
        raise CheckpointError(
            f"Checkpoint {path} was written by vae_lightning 0.1 (checkpoint format 1) for the model {recorded}, "
            "which is not one of the shipped models, so it cannot be converted. Port the model to the model "
            "contract (docs/extending.md) and retrain, or analyse it with vae_lightning 0.1."
        )
    settings = dict(checkpoint.get("hyper_parameters", {}))
    optimizer = {"_target_": FORMAT1_OPTIMIZERS.get(settings.pop("optimizer", "adam"), "torch.optim.Adam"),
                 "_partial_": True, "lr": settings.pop("lr", 1e-3), "weight_decay": settings.pop("weight_decay", 0.0)}
    if target.endswith("BetaTCVAE"):
        settings = {key: value for key, value in settings.items() if key not in FORMAT1_SCHEDULE_KEYS}
    state = checkpoint.get("state_dict", {})
    return {**checkpoint, FORMAT_KEY: FORMAT_VERSION,
            "hyper_parameters": {"model": {"_target_": target, **settings}, "optimizer": optimizer,
                                 "scheduler": None},
            "state_dict": {f"model.{key}": value for key, value in state.items()},
            CLASSES_KEY: {**(checkpoint.get(CLASSES_KEY) or {}), "model": target}}


def check_resumable(checkpoint: dict[str, Any], path: object) -> None:
    """Refuse to continue a run written in format 1: its optimiser and loop state belong to the old module."""
    if format_of(checkpoint) != FORMAT_VERSION:
        raise CheckpointError(
            f"Checkpoint {path} was written by vae_lightning 0.1 (checkpoint format 1), whose training loop this "
            "version does not continue or start from. Finish the run with vae_lightning 0.1, or train a new run; "
            "`analyze` and `report` read the checkpoint as it is."
        )
