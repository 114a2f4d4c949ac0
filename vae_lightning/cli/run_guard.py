"""Hydra callback: refuse a bad config or an unwritable output place before Hydra creates any directory, and end a
sweep with its directory, the commands that compare its runs, and the list of points that failed.

Hydra calls `on_run_start` / `on_multirun_start` after composing the config and before making the run or sweep
directory, the only moment a refusal leaves nothing behind.
"""

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from vae_lightning.cli.config_check import validate_train_config
from vae_lightning.errors import ConfigError, VAELightningError, exit_with
from vae_lightning.runs.commands import hydra_path, rerun_sweep_command, shell_command
from vae_lightning.runs.directory import FAILURE_FILE, read_json_record
from vae_lightning.runs.disk_errors import nearest_existing, probe_writable
from vae_lightning.runs.keys import NOT_POINT_KEYS

# Sweep points refused in this process (their run directories are left as they were, so no failure.json says so):
# (run directory, first line of the refusal), listed when the sweep ends.
_refused: list[tuple[Path, str]] = []


def note_refusal(run_dir: Path, error: Exception) -> None:
    """Remember a refused point for the end-of-sweep summary (with the basic launcher, which runs every point in
    this process; a point run elsewhere says so on its own console)."""
    _refused.append((run_dir.absolute(), str(error).splitlines()[0][:200]))


class RunGuard(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_on_error(lambda: _check_run(config))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refused.clear()
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
        if _refused:
            listing = "\n".join(f"  {_relative(run_dir, sweep_dir)}: {line}" for run_dir, line in _refused)
            print(f"\n{len(_refused)} sweep point(s) refused this command and were left as they were:\n{listing}",
                  file=sys.stderr)
        if failures:
            listing = "\n".join(f"  {path.parent.relative_to(sweep_dir)}: {_first_line(path)}" for path in failures)
            rerun = rerun_sweep_command(sweep_dir, config.hydra.overrides.hydra, config.hydra.overrides.task)
            print(
                f"\n{len(failures)} sweep point(s) failed; the others finished:\n{listing}\n"
                f"Fix the cause and rerun only what is missing with:\n  {rerun}\n"
                "(finished points are skipped; add redo=true to redo them).",
                file=sys.stderr,
            )
        if failures or _refused:
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
    refuse_sweeping_unnamed_keys(config.hydra.overrides.task)
    ensure_writable(Path(config.hydra.sweep.dir), "hydra.sweep.dir")


def refuse_sweeping_unnamed_keys(task_overrides: list[str]) -> None:
    """A swept key that does not name the point folders (`NOT_POINT_KEYS`, e.g. threads=1,2) would send every value
    into one folder, where the first finished point makes the others skip: refuse it before anything runs."""
    parsed = OverridesParser.create().parse_overrides(list(task_overrides))
    unnamed = [o.input_line for o in parsed if o.is_sweep_override() and o.key_or_group in NOT_POINT_KEYS]
    if unnamed:
        raise ConfigError(
            f"{', '.join(unnamed)} sweeps a setting that does not name the sweep's point folders "
            f"({', '.join(NOT_POINT_KEYS)}: where and how a run is carried out, not what it trains), so every "
            "value would go to the same folder "
            "and all but the first would be skipped. Give it one value, or run one sweep per value, each with its "
            "own hydra.sweep.dir=<dir>."
        )


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


# The longest path a run writes below its directory (checkpoints/, analysis/, a temporary file's random part).
LONGEST_RUN_FILE = len("/checkpoints/.best-epoch0000-v1.ckpt.a1b2c3d4.tmp")


def ensure_writable(directory: Path, key: str) -> None:
    """Raise ConfigError unless `directory` exists writable or can be created, by writing a probe file, and unless
    its name and the files a run writes below it fit the filesystem's limits on names and paths."""
    existing = nearest_existing(directory)
    if not existing.is_dir():
        raise ConfigError(
            f"{key}={directory} cannot be created: {existing} is a file, not a directory. Choose another output "
            f"place with {key}=<dir>."
        )
    check_name_lengths(directory, existing, key)
    if (error := probe_writable(existing)) is not None:
        raise ConfigError(
            f"{key}={directory} cannot be written: creating a file in {existing} failed ({error.strerror}). Free "
            f"space or fix the permissions, or choose another output place with {key}=<dir>."
        )


def check_name_lengths(directory: Path, existing: Path, key: str) -> None:
    """The folders still to be made are each within the filesystem's name limit (NAME_MAX, 255 bytes on most), and
    the run's deepest file within its path limit, so no folder is half made before the OS refuses the name."""
    name_max, path_max = (os.pathconf(existing, name) for name in ("PC_NAME_MAX", "PC_PATH_MAX"))
    new_parts = directory.absolute().relative_to(existing).parts
    too_long = [part for part in new_parts if len(os.fsencode(part)) > name_max]
    if too_long:
        raise ConfigError(
            f"{key}={directory} cannot be created: its folder name {too_long[0][:40]}… is "
            f"{len(os.fsencode(too_long[0]))} bytes long and this filesystem allows {name_max}. Choose a shorter "
            f"name with {key}=<dir>."
        )
    deepest = len(os.fsencode(str(directory.absolute()))) + LONGEST_RUN_FILE
    if deepest >= path_max:
        raise ConfigError(
            f"{key}={directory} is too deep: the run's files below it would need paths of {deepest} bytes and this "
            f"filesystem allows {path_max - 1}. Choose a shorter output place with {key}=<dir>."
        )


def _task_part(config: DictConfig) -> DictConfig:
    return OmegaConf.masked_copy(config, [key for key in config if key != "hydra"])


def _relative(run_dir: Path, sweep_dir: Path) -> str:
    return str(run_dir.relative_to(sweep_dir)) if run_dir.is_relative_to(sweep_dir) else str(run_dir)


def _first_line(failure_file: Path) -> str:
    """The first line of a recorded error; a damaged failure.json still counts as a failure and says so."""
    record = read_json_record(failure_file)
    error = record.get("error") if record is not None else None
    if not isinstance(error, str) or not error.strip():
        return f"(its {FAILURE_FILE} is damaged or holds no error message)"
    return error.splitlines()[0][:200]


def _exit_on_error(check: Callable[[], None]) -> None:
    try:
        check()
    except VAELightningError as error:
        exit_with(error)
