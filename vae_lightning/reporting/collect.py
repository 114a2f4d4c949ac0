"""Find the runs of a sweep (or a single run) and read what each left on disk: its config, whether it finished, its
numbers and its error. Points the sweep asked for that never got a folder are added as missing."""

import dataclasses
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from vae_lightning.errors import ConfigError, VAELightningError
from vae_lightning.reporting import sweep_points
from vae_lightning.reporting.axis import SweepAxis, is_number
from vae_lightning.reporting.run_files import analysis_problem, metrics_problem
from vae_lightning.runs.directory import FAILURE_FILE, METRICS_FILE, read_json_record
from vae_lightning.runs.keys import NOT_POINT_KEYS

FINISHED, FAILED, UNFINISHED, MISSING = "finished", "failed", "unfinished", "missing"
STATUSES = (FINISHED, FAILED, UNFINISHED, MISSING)


class SweepError(VAELightningError):
    """The `sweep` path is neither a multirun folder nor a run folder written by vae_lightning.train."""


@dataclasses.dataclass
class Run:
    """One point of the sweep: what its folder holds, or only its overrides when it never started (`path` None)."""

    status: str
    overrides: list[str]
    setting: str = ""  # the point's swept values other than the axis and seed, e.g. "data.labeled_fraction=0.1"
    axis_value: float | None = None  # the run's value of the sweep's axis (report.axis), e.g. its β
    seed: int | None = None
    path: Path | None = None
    config: DictConfig | None = None
    metrics: dict[str, Any] | None = None
    analysis: dict[str, Any] | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        """How progress lines and the summary name the point: its folder, or its overrides when it has none."""
        return self.path.name if self.path is not None else " ".join(self.overrides)


@dataclasses.dataclass
class Sweep:
    root: Path
    axis: SweepAxis
    runs: list[Run]
    rerun_command: str | None
    points_known: bool  # False when the sweep's overrides cannot be enumerated, so missing points are not listed

    @property
    def finished(self) -> list[Run]:
        return [run for run in self.runs if run.status == FINISHED]


def collect(path: str | Path, axis: SweepAxis) -> Sweep:
    """Every run under `path` (a multirun folder, or one run folder), plus the sweep's points without a folder, each
    placed on `axis` by its saved config; a run without a number for the axis is refused."""
    root = Path(path).expanduser().resolve()
    run_dirs = find_run_dirs(root)
    runs = [read_run(run_dir, axis) for run_dir in run_dirs]
    overrides = sweep_points.read_sweep_overrides(root)
    keys = [] if overrides is None else sweep_points.swept_keys(overrides.task)
    _check_axis_values(runs, axis, keys)
    for run in runs:  # a damaged config's value (failed already) has no place on the axis
        run.axis_value = run.axis_value if is_number(run.axis_value) else None
    if overrides is None:
        return Sweep(root, axis, runs, _single_rerun_command(runs), points_known=True)
    expanded = sweep_points.expand_points(overrides.task)
    missing = [] if expanded is None else _missing_runs(expanded, keys, runs, axis)
    runs += missing
    setting_keys = [key for key in varying_keys(runs, keys) if key not in (axis.key, "seed")]
    for run in runs:
        run.setting = sweep_points.setting_of(run.overrides, setting_keys)
    needs_rerun = any(run.status != FINISHED for run in runs)
    return Sweep(
        root,
        axis,
        runs,
        sweep_points.rerun_sweep_command(root, overrides) if needs_rerun else None,
        points_known=expanded is not None,
    )


def varying_keys(runs: list[Run], swept: list[str]) -> list[str]:
    """The sweep's swept keys, then every other override key whose value differs between `runs`.

    Several sweep commands may share one folder (`hydra.sweep.dir`), e.g. one per model of a comparison; multirun.yaml
    keeps only the last command's overrides, so what tells their points apart (`model=beta_tcvae`, `model.gamma=40`)
    is read from the runs' own overrides. Keys that only say where or how a run is carried out are left out.
    """
    described = [run for run in runs if run.overrides]  # a damaged folder's overrides are unknown, not empty
    keys = list(swept)
    for run in described:
        for override in OverridesParser.create().parse_overrides(run.overrides):
            if override.key_or_group not in keys and override.key_or_group not in NOT_POINT_KEYS:
                keys.append(override.key_or_group)
    values = [dict(sweep_points.point_values(run.overrides, keys)) for run in described]
    return [key for key in keys if key in swept or len({point[key] for point in values}) > 1]


def find_run_dirs(root: Path) -> list[Path]:
    """`root` itself when it is a run, else its sub-folders that are runs (they hold `.hydra/config.yaml`)."""
    if not root.is_dir():
        raise SweepError(
            f"sweep={root} does not exist. Pass the folder of a multirun of vae_lightning.train (the one that holds "
            "multirun.yaml and one sub-folder per point, e.g. sweep=outputs/multirun/2026-01-31/12-00-00), or a "
            "single run folder."
        )
    if is_run_dir(root):
        return [root]
    run_dirs = sorted(child for child in root.iterdir() if is_run_dir(child))
    if not run_dirs:
        has_points = (root / sweep_points.MULTIRUN_FILE).is_file()
        hint = " Its multirun.yaml lists points, but none has started." if has_points else ""
        raise SweepError(
            f"sweep={root} holds no runs: none of its sub-folders has a .hydra/config.yaml written by "
            f"vae_lightning.train.{hint} Pass the folder that `python -m vae_lightning.train -m ...` printed as its "
            "sweep directory (hydra.sweep.dir), or a single run folder."
        )
    return run_dirs


def read_run(run_dir: Path, axis: SweepAxis) -> Run:
    """A run's config, its value of `axis` and its status: finished (metrics.json), failed (failure.json), or
    unfinished (neither). A file that cannot be read makes the run failed, with the file named as its error, so one
    damaged folder never stops the report of the others."""
    overrides_path = run_dir / ".hydra" / "overrides.yaml"
    try:
        config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        if not isinstance(config, DictConfig):
            raise TypeError("not a mapping")
        overrides = [str(o) for o in OmegaConf.load(overrides_path)] if overrides_path.is_file() else []
    except Exception as error:  # OmegaConf raises yaml, OSError and its own errors for a damaged file
        reason = (f"its .hydra/config.yaml or overrides.yaml cannot be read ({type(error).__name__}); rerun the "
                  "point with redo=true")
        print(f"Unreadable run {run_dir}: {reason}.", flush=True)
        return Run(status=FAILED, overrides=[], path=run_dir, error=reason)
    run = Run(
        status=UNFINISHED,
        overrides=overrides,
        axis_value=axis.value_in(config),
        seed=OmegaConf.select(config, "seed"),
        path=run_dir,
        config=config,
        analysis=_read_analysis(run_dir / "analysis" / METRICS_FILE),
    )
    metrics, failure = read_json_record(run_dir / METRICS_FILE), read_json_record(run_dir / FAILURE_FILE)
    problem = metrics_problem(metrics) if metrics is not None else None
    if metrics is not None and problem is None:
        run.status, run.metrics = FINISHED, metrics
    elif (run_dir / METRICS_FILE).exists():
        run.status = FAILED
        run.error = (f"its {METRICS_FILE} {problem or 'is damaged (not a JSON object)'}; rerun the point with "
                     "redo=true to write it again")
    elif failure is not None or (run_dir / FAILURE_FILE).exists():
        failure = failure or {}
        run.status = FAILED
        run.error = f"{failure.get('error_type', 'Error')}: {failure.get('error', 'no message recorded')}"
    if run.axis_value is not None and not is_number(run.axis_value) and run.status != FAILED:
        run.status, run.metrics, run.analysis = FAILED, None, None
        run.error = (f"its .hydra/config.yaml gives {axis.key}={run.axis_value!r}, not a number, so it has no place "
                     "on the report's axis; rerun the point with redo=true")
    if run.error:
        print(f"Unreadable run {run_dir}: {run.error}.", flush=True)
    return run


def _read_analysis(path: Path) -> dict[str, Any] | None:
    """A run's analysis, or None when it has none or the file is not an analysis (said in one line): the report
    then counts the run as not analysed, and analyses it again unless analyze_missing=false."""
    analysis = read_json_record(path)
    problem = "is not a JSON object" if analysis is None and path.exists() else (
        analysis_problem(analysis) if analysis is not None else None)
    if problem is not None:
        print(f"{path} {problem}: the run counts as not analysed.", flush=True)
        return None
    return analysis


def is_run_dir(folder: Path) -> bool:
    """Whether `folder` is a run directory of vae_lightning.train (it holds `.hydra/config.yaml`)."""
    return (folder / ".hydra" / "config.yaml").is_file()


def _check_axis_values(runs: list[Run], axis: SweepAxis, swept: list[str]) -> None:
    """Refuse, before anything is analysed or written, a sweep whose runs do not all have a number for `axis` in
    their saved config, naming the first such run and the keys the sweep does vary (`swept` and the runs' overrides)
    that would do as the axis. Runs whose config cannot be read are failed already and have no value."""
    readable = [run for run in runs if run.config is not None]
    lacking = [run for run in readable if run.axis_value is None or not is_number(run.axis_value)
               and not any(is_number(other.axis_value) for other in readable)]
    if not lacking:
        return
    run = lacking[0]
    others = f" (and {len(lacking) - 1} other run{'s' * (len(lacking) != 2)})" if len(lacking) > 1 else ""
    found = f"no {axis.key}" if run.axis_value is None else f"{axis.key}={run.axis_value!r}, not a number,"
    candidates = [key for key in varying_keys(readable, swept) if key not in (axis.key, "seed")
                  and all(is_number(OmegaConf.select(other.config, key, default=None)) for other in readable)]
    fix = (f"Pass the key the sweep varies: report.axis={candidates[0]} (the numbers that vary across its runs: "
           f"{', '.join(candidates)})." if candidates else
           "No other number varies across its runs: pass report.axis=<the config key the sweep varied>.")
    raise ConfigError(
        f"report.axis={axis.key}, but run {run.path}{others} has {found} in its saved config (.hydra/config.yaml): "
        f"the report lays every run out along report.axis by that value. {fix}"
    )


def _missing_runs(expanded: list[list[str]], keys: list[str], runs: list[Run], axis: SweepAxis) -> list[Run]:
    """The points no run folder answers; having no saved config, their axis value and seed come from the point's
    overrides, or from a sibling's config when not swept."""
    present = {sweep_points.point_values(run.overrides, keys) for run in runs}
    sibling = next((run.config for run in runs if run.config is not None), OmegaConf.create())
    missing = []
    for overrides in expanded:
        if sweep_points.point_values(overrides, keys) in present:
            continue
        value, seed = (sweep_points.override_value(overrides, key) for key in (axis.key, "seed"))
        missing.append(
            Run(
                status=MISSING,
                overrides=overrides,
                axis_value=value if value is not None else axis.value_in(sibling),
                seed=int(seed) if seed is not None else OmegaConf.select(sibling, "seed"),
            )
        )
    return missing


def _single_rerun_command(runs: list[Run]) -> str | None:
    """For a folder without multirun.yaml: each unfinished run again, one command per line."""
    commands = [sweep_points.rerun_run_command(run.path, run.overrides) for run in runs if run.status != FINISHED]
    return "\n".join(commands) or None
