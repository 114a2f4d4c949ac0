"""The points a sweep was asked for, from the overrides Hydra saved in `<sweep>/multirun.yaml`, and the command that
runs the ones without a result.

Points are identified by the values of their swept keys, not by folder names, so a folder named under another
`hydra.sweep.subdir` pattern, or a value written as `4` in one place and `4.0` in another, still matches.
"""

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

from vae_lightning.runs import commands
from vae_lightning.runs.commands import hydra_path, shell_command

MULTIRUN_FILE = "multirun.yaml"


class SweepOverrides(NamedTuple):
    """The command line of a multirun, as Hydra recorded it: its own `hydra.*` overrides and the task's."""

    hydra: list[str]
    task: list[str]


def read_sweep_overrides(sweep_dir: Path) -> SweepOverrides | None:
    """The overrides saved in `<sweep_dir>/multirun.yaml`, or None when the folder is not a multirun's."""
    path = sweep_dir / MULTIRUN_FILE
    if not path.is_file():
        return None
    try:
        overrides = OmegaConf.load(path).hydra.overrides
        return SweepOverrides(hydra=[str(o) for o in overrides.hydra], task=[str(o) for o in overrides.task])
    except Exception as error:  # yaml's, OmegaConf's and attribute errors alike: the file is not Hydra's record
        print(f"{path} cannot be read as Hydra's record of the sweep ({type(error).__name__}); the report lists the "
              "runs it finds but cannot tell which points never started.", flush=True)
        return None


def expand_points(task_overrides: Sequence[str]) -> list[list[str]] | None:
    """Every point's own override list (sweeps such as `model.beta=0.5,2` replaced by one value each), in Hydra's
    basic-sweeper order; None when a sweep cannot be enumerated (`interval(...)`, `glob(...)`)."""
    parsed = OverridesParser.create().parse_overrides(list(task_overrides))
    choices = []
    try:
        for override in parsed:
            if override.is_sweep_override():
                key = override.get_key_element()
                choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
            else:
                choices.append([override.input_line])
    except HydraException:
        return None
    return [list(point) for point in itertools.product(*choices)]


def swept_keys(task_overrides: Sequence[str]) -> list[str]:
    """The keys that take more than one value in the sweep, e.g. ["model.beta", "seed"]."""
    parsed = OverridesParser.create().parse_overrides(list(task_overrides))
    return [override.key_or_group for override in parsed if override.is_sweep_override()]


def point_values(overrides: Sequence[str], keys: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """The values `overrides` give to `keys`, in a form that compares equal whenever Hydra's values are equal."""
    parsed = {o.key_or_group: o.value() for o in OverridesParser.create().parse_overrides(list(overrides))}
    return tuple((key, _canonical(parsed.get(key))) for key in keys)


def setting_of(overrides: Sequence[str], keys: Sequence[str]) -> str:
    """How a point's values of `keys` read in tables and legends, e.g. "data.labeled_fraction=0.1 model=cvae"."""
    parsed = {o.key_or_group: o for o in OverridesParser.create().parse_overrides(list(overrides))}
    return " ".join(parsed[key].input_line for key in keys if key in parsed)


def override_value(overrides: Sequence[str], key: str) -> Any:
    """The value `overrides` give to `key`, or None when they leave it at the config's default."""
    return dict(point_values(overrides, [key]))[key]


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return "nan" if math.isnan(value) else float(value)  # NaN equals nothing, not even the same point's NaN
    if isinstance(value, list):
        return tuple(_canonical(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(key), _canonical(item)) for key, item in value.items()))
    return str(value)


def rerun_sweep_command(sweep_dir: Path, overrides: SweepOverrides) -> str:
    return commands.rerun_sweep_command(sweep_dir, overrides.hydra, overrides.task)


def rerun_run_command(run_dir: Path, overrides: Sequence[str]) -> str:
    """One run again, into its own folder, with the overrides it was started with."""
    return shell_command("vae_lightning.train", [f"hydra.run.dir={hydra_path(run_dir)}", *overrides])
