"""Hydra callback: refuse a bad config or an unwritable output place before Hydra creates any directory, and end a
sweep with its directory, the commands that compare its runs, and the list of points that failed.

Hydra calls `on_run_start` / `on_multirun_start` after composing the config and before making the run or sweep
directory, the only moment a refusal leaves nothing behind.
"""

import json
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from vae_lightning.commands import hydra_path, rerun_sweep_command, shell_command
from vae_lightning.config_check import validate_train_config
from vae_lightning.errors import ConfigError, VAELightningError, exit_with
from vae_lightning.run_state import FAILURE_FILE


class RunGuard(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_on_error(lambda: _check_run(config))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # The base config, before the swept values: a mistake shared by every point stops the sweep here, while a
        # bad swept value fails only its own point (recorded in its failure.json).
        _exit_on_error(lambda: _check_sweep(config))
        name_points_by_swept_keys(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir).absolute()
        print(f"\nSweep directory: {sweep_dir}\nCompare its runs with:\n  "
              f"{shell_command('vae_lightning.report', [f'sweep={hydra_path(sweep_dir)}'])}\n"
              f"  {shlex.join(['tensorboard', '--logdir', str(sweep_dir)])}", flush=True)
        failures = sorted(sweep_dir.rglob(FAILURE_FILE))
        if not failures:
            return
        listing = "\n".join(f"  {path.parent.relative_to(sweep_dir)}: {_first_line(path)}" for path in failures)
        rerun = rerun_sweep_command(sweep_dir, config.hydra.overrides.hydra, config.hydra.overrides.task)
        print(
            f"\n{len(failures)} sweep point(s) failed; the others finished:\n{listing}\n"
            f"Fix the cause and rerun only what is missing with:\n  {rerun}\n"
            "(finished points are skipped; add redo=true to redo them).",
            file=sys.stderr,
        )
        sys.exit(1)


def _check_run(config: DictConfig) -> None:
    validate_train_config(_task_part(config))
    if config.resume is not None and not (Path(config.resume) / ".hydra").is_dir():
        raise ConfigError(
            f"resume={config.resume} is not a run directory of vae_lightning.train (it has no .hydra/ folder). "
            "Pass the directory the interrupted run printed as 'Run directory', e.g. "
            "resume=outputs/2026-01-31/12-00-00_fashion."
        )
    if config.ckpt_path is not None and not Path(config.ckpt_path).is_file():
        raise ConfigError(
            f"ckpt_path={config.ckpt_path} does not exist or is not a file. Pass a .ckpt written by "
            "vae_lightning.train, e.g. ckpt_path=outputs/<run>/checkpoints/last.ckpt."
        )
    ensure_writable(Path(config.hydra.run.dir), "hydra.run.dir")


def _check_sweep(config: DictConfig) -> None:
    validate_train_config(_task_part(config))
    ensure_writable(Path(config.hydra.sweep.dir), "hydra.sweep.dir")


def name_points_by_swept_keys(config: DictConfig) -> None:
    """Leave the command line's fixed overrides out of each point's folder name: `model.beta=4,seed=1/`.

    Every launcher composes each point from the sweep's hydra overrides, so an `exclude_keys` override added here
    reaches every point, in this process or on a cluster.
    """
    parsed = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
    fixed = [override.key_or_group for override in parsed if not override.is_sweep_override()]
    excluded = [*config.hydra.job.config.override_dirname.exclude_keys, *fixed]
    with read_write(config.hydra.overrides):
        config.hydra.overrides.hydra.append(f"hydra.job.config.override_dirname.exclude_keys=[{','.join(excluded)}]")


def ensure_writable(directory: Path, key: str) -> None:
    """Raise ConfigError unless `directory` exists writable or can be created, by writing a probe file."""
    existing = directory.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            f"{key}={directory} cannot be created: {existing} is a file, not a directory. Choose another output "
            f"place with {key}=<dir>."
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ConfigError(
            f"{key}={directory} cannot be written: creating a file in {existing} failed ({error.strerror}). Free "
            f"space or fix the permissions, or choose another output place with {key}=<dir>."
        ) from error


def _task_part(config: DictConfig) -> DictConfig:
    return OmegaConf.masked_copy(config, [key for key in config if key != "hydra"])


def _first_line(failure_file: Path) -> str:
    return json.loads(failure_file.read_text())["error"].splitlines()[0][:200]


def _exit_on_error(check: Callable[[], None]) -> None:
    try:
        check()
    except VAELightningError as error:
        exit_with(error)
