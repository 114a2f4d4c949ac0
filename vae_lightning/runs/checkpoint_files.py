"""Opening checkpoints safely: tensors and plain containers only, never code from the file."""

import hashlib
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.connector import _convert_precision_to_unified_args

from vae_lightning.engine.checkpoint_schema import (
    CLASSES_KEY,
    DATA_KEY,
    PRECISION_KEY,
    THREADS_KEY,
    as_current_format,
)
from vae_lightning.errors import CheckpointError
from vae_lightning.models.nets.conv_vae import derived_channels
from vae_lightning.runs.checkpoint_integrity import verify_intact
from vae_lightning.runs.keys import RELOCATABLE_DATA_KEYS


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint at `path`, loaded with `weights_only=True`, after checking it is a vae_lightning checkpoint."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"Checkpoint {path} does not exist or is not a file. Pass the path of a .ckpt file written by "
            "vae_lightning.train, e.g. ckpt_path=outputs/<run>/checkpoints/last.ckpt."
        )
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (torch.save writes a zip archive; this file is not one, or it is "
            "truncated). Pass a .ckpt written by vae_lightning.train, e.g. checkpoints/last.ckpt of a run."
        )
    verify_intact(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"Checkpoint {path} was refused: it holds objects other than tensors and plain containers, which could "
            f"run code when loaded ({_unsafe_reason(error)}). Only load checkpoints written by vae_lightning.train "
            "from a source you trust."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(
            f"Checkpoint {path} could not be read ({type(error).__name__}: {str(error).splitlines()[0]}); the file "
            "is truncated or damaged. Use another checkpoint of the run, e.g. checkpoints/last.ckpt."
        ) from error
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not any(key.startswith(("model.", "vae.")) for key in state):
        raise CheckpointError(
            f"{path} is a PyTorch file but not a vae_lightning checkpoint (no VAE weights under 'state_dict'). "
            "Pass a .ckpt written by vae_lightning.train."
        )
    return checkpoint


def check_compatible(checkpoint: dict[str, Any], path: str | Path, hparams: dict[str, Any]) -> None:
    """Raise when the checkpoint's architecture differs from the configured one, naming the keys to change."""
    saved = _with_channels(as_current_format(checkpoint, path)["hyper_parameters"]["model"])
    hparams = _with_channels(hparams)
    architecture = ("image_shape", "latent_dim", "channels", "kernel_size", "hidden_dim", "likelihood", "learn_sigma",
                    "num_mixtures")
    differing = [f"{key}: checkpoint {saved[key]!r} vs config {hparams[key]!r}" for key in architecture
                 if key in saved and key in hparams and list_or_value(saved[key]) != list_or_value(hparams[key])]
    if differing:
        raise CheckpointError(
            f"Checkpoint {path} was trained with a different architecture ({'; '.join(differing)}). Resume with the "
            "same model settings (set them as model.<key>=... overrides) or start a new run without ckpt_path."
        )


def check_same_run(checkpoint: dict[str, Any], path: str | Path, model_class: str, model_hparams: dict[str, Any],
                   data_hparams: dict[str, Any], threads: int) -> None:
    """Raise unless the checkpoint was trained with the model class, model and data settings and CPU thread count
    of the command continuing it."""
    saved_class = (checkpoint.get(CLASSES_KEY) or {}).get("model")
    if saved_class is not None and saved_class != model_class:
        raise CheckpointError(
            f"The run in {Path(path).parent.parent} trained the model {saved_class}, but this command asks for "
            f"{model_class}; its weights cannot continue as another model. Rerun with the run's own model= choice, "
            "add redo=true to train this directory again from scratch (earlier outputs are moved aside), or drop "
            "resume= to start a new run."
        )
    saved_threads = checkpoint.get(THREADS_KEY)
    if saved_threads is not None and saved_threads != threads:
        raise CheckpointError(
            f"The run in {Path(path).parent.parent} was trained with {saved_threads} CPU thread(s) and this command "
            f"would continue it with {threads}; on the CPU the thread count changes the floating-point results, so "
            f"the continued run would not match an uninterrupted one. Rerun with threads={saved_threads}."
        )
    saved_model = as_current_format(checkpoint, path)["hyper_parameters"]["model"]
    saved_data = checkpoint.get("datamodule_hyper_parameters", {})
    differing = [f"model.{key}: run {saved_model[key]!r} vs command {value!r}" for key, value in model_hparams.items()
                 if key in saved_model and list_or_value(saved_model[key]) != list_or_value(value)]
    differing += [f"data.{key}: run {saved_data[key]!r} vs command {value!r}" for key, value in data_hparams.items()
                  if key not in RELOCATABLE_DATA_KEYS and key in saved_data
                  and list_or_value(saved_data[key]) != list_or_value(value)]
    if differing:
        raise CheckpointError(
            f"The run in {Path(path).parent.parent} was trained with other settings than this command asks for "
            f"({'; '.join(differing)}), so continuing it would mix two experiments. Rerun with the run's own "
            "settings, add redo=true to train this directory again from scratch (earlier outputs are moved aside), or "
            "drop resume= to start a new run."
        )


def check_same_precision(checkpoint: dict[str, Any], path: str | Path, precision: str) -> None:
    """Raise unless the run was trained in the Trainer `precision` of the command continuing it (bf16-mixed and
    32-true round differently, so a continued run would match neither)."""
    saved = checkpoint.get(PRECISION_KEY)
    if saved is not None and unified_precision(saved) != unified_precision(precision):
        raise CheckpointError(
            f"The run in {Path(path).parent.parent} was trained with trainer.precision={saved} and this command "
            f"would continue it with {precision}; the two round differently, so the continued run would match "
            f"neither an uninterrupted run nor its own metrics.json. Rerun with trainer.precision={saved}, or add "
            "redo=true to train the directory again in the new precision."
        )


def unified_precision(precision: str) -> str:
    """Lightning's spelling of a precision setting ("32" → "32-true", "bf16" → "bf16-mixed"), so equal settings
    compare equal; an unknown value is kept as it is."""
    try:
        return str(_convert_precision_to_unified_args(precision))
    except ValueError:
        return str(precision)


def check_same_data(checkpoint: dict[str, Any], path: str | Path, fingerprints: dict[str, str],
                    data_root: object = None) -> None:
    """Raise unless the splits the command reads have the fingerprints the run recorded (data/fingerprint.py):
    other files under the same settings, e.g. `data.root` pointing elsewhere, would train on other images."""
    saved = checkpoint.get(DATA_KEY) or {}
    differing = [f"{split} split: run {saved[split]} vs now {value}" for split, value in fingerprints.items()
                 if split in saved and saved[split] != value]
    if differing:
        where = f" (data.root={data_root})" if data_root is not None else ""
        raise CheckpointError(
            f"The run in {Path(path).parent.parent} was trained on other images than this command reads{where}: "
            f"the content fingerprints differ ({'; '.join(differing)}). Continuing would mix two data sets in one "
            "model and score it on the wrong test set. Point data.root at the files the run was trained on, or add "
            "redo=true to train the directory again on these files, or drop resume= to start a new run."
        )


def written_mid_epoch(checkpoint: dict[str, Any]) -> bool:
    """Whether Lightning wrote the checkpoint before its epoch's last batch (its loop state says so), from which a
    run cannot continue exactly."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
    return progress.get("is_last_batch") is False


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes: which checkpoint an analysis read, whatever its folder is called now."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _with_channels(hparams: dict[str, Any]) -> dict[str, Any]:
    """`channels: null` replaced by the widths it stands for, so a derived and a spelt-out architecture compare."""
    if hparams.get("channels") is None and "image_shape" in hparams:
        return hparams | {"channels": list(derived_channels(min(hparams["image_shape"][1:])))}
    return hparams


def list_or_value(value: Any) -> Any:
    """Tuples and lists compare equal when their items do."""
    return list(value) if isinstance(value, (list, tuple)) else value


def _unsafe_reason(error: pickle.UnpicklingError) -> str:
    """The line of torch's long weights-only message that names what was refused."""
    lines = str(error).splitlines()
    return next((line.strip() for line in lines[1:] if "global" in line.lower()), lines[0])
