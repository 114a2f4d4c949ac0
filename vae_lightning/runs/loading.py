"""From what the user points at (a run directory or a checkpoint) to a ready model, its data and an output folder.

Everything is rebuilt from the checkpoint itself — the classes it names and their saved hyper-parameters — so a
checkpoint copied away from its run still analyses, and nothing is unpickled beyond tensors and plain containers.
"""

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
from hydra.errors import ConfigCompositionException, InstantiationException
from lightning import LightningDataModule

from vae_lightning.engine.building import build, constructor_parameters
from vae_lightning.engine.checkpoint_schema import CLASSES_KEY, as_current_format
from vae_lightning.errors import CheckpointError, ConfigError
from vae_lightning.models.contract import GenerativeModel
from vae_lightning.models.nets.sub_pixel import use_sub_pixel_outputs
from vae_lightning.runs.checkpoint_files import load_checkpoint
from vae_lightning.runs.checkpoint_integrity import first_intact
from vae_lightning.runs.directory import tensorboard_dir
from vae_lightning.runs.trusted_classes import recorded_class, trusted_class

CHECKPOINT_CHOICES = ("best", "last")


@dataclasses.dataclass(frozen=True)
class AnalysisTarget:
    checkpoint_path: Path
    output_dir: Path
    tensorboard_dir: Path


def resolve_target(run: str | Path, checkpoint: str = "best") -> AnalysisTarget:
    """Which checkpoint to analyse and where the results go: `<run>/analysis` and the run's own TensorBoard events;
    a checkpoint outside a run gets `analysis_<name>/`, which is also its TensorBoard run."""
    if checkpoint not in CHECKPOINT_CHOICES:
        raise CheckpointError(f"checkpoint={checkpoint!r} is not allowed: use one of {', '.join(CHECKPOINT_CHOICES)}.")
    path = Path(run).expanduser().resolve()
    if path.is_dir():
        return _target_in_run(path, _pick_checkpoint(path, checkpoint))
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else None
        if run_dir is not None:
            return _target_in_run(run_dir, path)
        output_dir = path.parent / f"analysis_{path.stem}"
        return AnalysisTarget(path, output_dir, output_dir)
    raise CheckpointError(
        f"run={run} does not exist. Pass a run directory written by vae_lightning.train (it holds checkpoints/) or "
        "one of its .ckpt files, e.g. run=outputs/2026-01-31/12-00-00_fashion."
    )


def _target_in_run(run_dir: Path, checkpoint_path: Path) -> AnalysisTarget:
    return AnalysisTarget(checkpoint_path, run_dir / "analysis", tensorboard_dir(run_dir))


def _pick_checkpoint(run_dir: Path, which: str) -> Path:
    """The run's newest best checkpoint (`best`) or its last.ckpt (`last`); when that one is damaged, the newest
    intact checkpoint of the run instead, said in one line."""
    folder = run_dir / "checkpoints"
    best = sorted(folder.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
    last = folder / "last.ckpt"
    candidates = [*best, last] if which == "best" else [last, *best]
    chosen, passed_over = first_intact(candidates)
    if chosen is not None:
        if passed_over:
            print(f"{'; '.join(passed_over)}: analysing {chosen} instead, the newest intact checkpoint of the run.")
        return chosen
    if passed_over:
        raise CheckpointError(
            f"Every checkpoint of {run_dir} is damaged ({'; '.join(passed_over)}), so there is nothing to analyse. "
            "Train the run again with redo=true."
        )
    raise CheckpointError(
        f"{run_dir} is not a vae_lightning run directory: it has no checkpoints/best-*.ckpt or checkpoints/last.ckpt. "
        "Pass the directory that vae_lightning.train printed as 'Run directory', or a .ckpt file."
    )


def restore_model(checkpoint: dict[str, Any], path: Path, trusted_packages: Sequence[str] = ()) -> GenerativeModel:
    """The trained model, built from its saved settings and weights, laid out for evaluation."""
    checkpoint = as_current_format(checkpoint, path)
    settings = checkpoint["hyper_parameters"]["model"]
    trusted_class(settings.get("_target_", ""), GenerativeModel, trusted_packages, path)
    check_nested_targets(settings, trusted_packages, path)
    try:
        model = build(settings)
        model.load_state_dict({key.removeprefix("model."): value for key, value in checkpoint["state_dict"].items()
                               if key.startswith("model.")})
    except (KeyError, TypeError, RuntimeError, ConfigCompositionException, InstantiationException) as error:
        raise CheckpointError(
            f"Checkpoint {path} does not match this version of vae_lightning ({type(error).__name__}: "
            f"{str(error).splitlines()[0]}). Analyse it with the version that trained it, or retrain."
        ) from error
    return for_evaluation(model)


def check_nested_targets(node: Any, trusted_packages: Sequence[str], path: Path) -> None:
    """Every `_target_` inside a model's settings (an optimiser of its own, a sub-network) names a torch.optim class
    or a class of a trusted package: building the model calls it."""
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        if isinstance(child, dict) and "_target_" in child and not str(child["_target_"]).startswith("torch.optim."):
            trusted_class(str(child["_target_"]), object, trusted_packages, path)
        check_nested_targets(child, trusted_packages, path)


def for_evaluation(model: GenerativeModel) -> GenerativeModel:
    """`model` in eval mode, laid out for evaluation (IWAE, encoding, decoding), which is almost all convolutions:
    weights in channels-last layout, where oneDNN (CPU) and cuDNN (tensor cores) run them 1.4–1.7× faster, and the
    decoder's few-channel output layer in its sub-pixel form (`models.sub_pixel`). Not for further training: the
    converted layer is frozen."""
    return use_sub_pixel_outputs(model).to(memory_format=torch.channels_last).eval()


def restore_datamodule(checkpoint: dict[str, Any], path: Path, trusted_packages: Sequence[str] = (),
                       **overrides: Any) -> LightningDataModule:
    """The data module the run was trained with (same dataset, split and seed); `overrides` that are None, or that
    its class does not take (an image folder has no `root`), are left out."""
    saved = checkpoint.get("datamodule_hyper_parameters")
    if not isinstance(saved, dict):
        raise CheckpointError(
            f"Checkpoint {path} does not record its data settings (no datamodule_hyper_parameters); it was not "
            "written by vae_lightning.train. Analyse a checkpoint from a training run."
        )
    datamodule_class = _saved_class(checkpoint, "datamodule", LightningDataModule, "ImageDataModule", path,
                                    trusted_packages)
    accepted = constructor_parameters(datamodule_class)
    settings = {**saved, **{key: value for key, value in overrides.items() if value is not None and key in accepted}}
    return datamodule_class(**settings)


def _saved_class(checkpoint: dict[str, Any], role: str, base: type, before_recorded: str, path: Path,
                 trusted_packages: Sequence[str]) -> type:
    """The class that wrote the checkpoint; checkpoints from before classes were recorded hold the plain VAE on
    MNIST-family data."""
    recorded = (checkpoint.get(CLASSES_KEY) or {}).get(role) or before_recorded
    return recorded_class(recorded, base, trusted_packages, path)


DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str) -> torch.device:
    """`auto` is a GPU when one is visible, else the CPU."""
    if name not in DEVICES:
        raise ConfigError(f"device={name!r} is not allowed: use one of {', '.join(DEVICES)}.")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda was asked for but no CUDA GPU is visible; use device=auto or device=cpu.")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


class OpenedRun(NamedTuple):
    """A run ready to analyse: where its results go, its model in eval mode on the device, its data set up."""

    target: AnalysisTarget
    model: GenerativeModel
    datamodule: LightningDataModule


def open_run(run: str | Path, device: str = "auto", checkpoint: str = "best", trusted_packages: Sequence[str] = (),
             **data_overrides: Any) -> OpenedRun:
    """Resolve, safely load and rebuild everything an analysis needs; `data_overrides` (root, cache_dir, …) replace
    the run's own data settings where not None."""
    target = resolve_target(run, checkpoint)
    state = load_checkpoint(target.checkpoint_path)
    model = restore_model(state, target.checkpoint_path, trusted_packages).to(pick_device(device))
    datamodule = restore_datamodule(state, target.checkpoint_path, trusted_packages, **data_overrides)
    datamodule.prepare_data()
    datamodule.setup("test")
    return OpenedRun(target, model, datamodule)
