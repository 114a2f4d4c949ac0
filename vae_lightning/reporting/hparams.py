"""TensorBoard's HParams dashboard for a sweep: one session per finished run, beside the run's own event files, so
`tensorboard --logdir <sweep>` compares the runs by the sweep's axis (β) with no further setup and no extra run per
point. The same file gives each run its numbers against the axis (`axis_scalars`) and its KL per dimension on the
sweep's shared scale (`report/kl_per_dim`).

Each session is one event file named by a fixed suffix, replaced on every report, so reporting again never adds a
second session for the same run. The dashboard shows the first five hyper-parameters and metrics and hides the rest
until ticked: only the hyper-parameters that vary are written, and the metrics are ordered so the five that say most
about a β come first.
"""

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from tensorboard.plugins.hparams.summary_v2 import hparams_pb
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

from vae_lightning.analysis.plots import card_image, per_dimension_bar_chart
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.axis_scalars import TAG_PREFIX, add_described_scalar, axis_steps, steps_description
from vae_lightning.reporting.collect import FINISHED, Run, Sweep
from vae_lightning.reporting.kl_by_dimension import TEST_KL_KEY, shared_top
from vae_lightning.reporting.table import COLUMNS, model_terms, run_row
from vae_lightning.runs.directory import tensorboard_dir

# The first five are shown by default: recon is neg_elbo − kl, and the IWAE bound follows neg_elbo.
METRICS = ("neg_elbo", "kl", "active_units", "linear_probe", "monotonicity", "recon", "iwae", "step_change")
# The hyper-parameters every session names besides the sweep's axis, and the config keys they come from.
NAMED = {"seed": "seed", "latent_dim": "model.latent_dim", "dataset": "data.name"}

HParam = str | bool


def write_sessions(sweep: Sweep, file_suffix: str, exclude: Sequence[str]) -> None:
    """One session per finished run, beside its training events (in the run directory); a run that no longer counts
    as finished loses the session an earlier report gave it."""
    for run in sweep.runs:
        if run.status != FINISHED and run.path is not None:
            remove_sessions(tensorboard_dir(run.path), file_suffix)
    sessions = varying_only([run_hparams(run, sweep.axis, exclude) for run in sweep.finished], keep=sweep.axis.name)
    domains = discrete_domains(sessions)
    steps = axis_steps(run.axis_value for run in sweep.finished)
    description, top = steps_description(sweep.axis, steps), shared_top(sweep.finished)
    for run, session in zip(sweep.finished, sessions, strict=True):
        on_axis = RunOnAxis(steps[run.axis_value], description, run.metrics.get(TEST_KL_KEY), top)
        write_session(tensorboard_dir(run.path), session, run_row(run, sweep.root, list(model_terms(sweep))),
                      domains, trial=run.path.name, file_suffix=file_suffix, on_axis=on_axis)


def run_hparams(run: Run, axis: SweepAxis, exclude: Sequence[str]) -> dict[str, HParam]:
    """The axis (named `axis.name`: beta), seed, latent size and dataset, plus every other key the run overrode except
    those in `exclude` (paths)."""
    named = {axis.name: axis.key, **NAMED}
    values = {name: OmegaConf.select(run.config, key) for name, key in named.items()}
    for override in OverridesParser.create().parse_overrides(run.overrides):
        if override.key_or_group not in (*exclude, *named.values()):
            values[override.key_or_group] = override.value()
    return {name: _hparam(value) for name, value in values.items() if value is not None}


def varying_only(sessions: list[dict[str, HParam]], keep: str) -> list[dict[str, HParam]]:
    """The sessions without the hyper-parameters every session has with one value (`dataset` fashion in every run),
    except `keep` (the axis): a constant column says nothing and pushes the metrics off a 1,600 px screen."""
    if len(sessions) < 2:
        return sessions
    constant = {name for name in sessions[0]
                if name != keep and all(session.get(name, None) == sessions[0][name] for session in sessions)}
    return [{name: value for name, value in session.items() if name not in constant} for session in sessions]


def discrete_domains(sessions: Sequence[dict[str, HParam]]) -> dict[str, list[HParam]]:
    """Every value each hyper-parameter takes across the sweep, so the dashboard's filters offer them all."""
    values: dict[str, set[HParam]] = {}
    for session in sessions:
        for name, value in session.items():
            values.setdefault(name, set()).add(value)
    return {name: sorted(seen, key=_numbers_first) for name, seen in values.items()
            if len({type(value) for value in seen}) == 1}


def _numbers_first(value: HParam) -> tuple[int, float, str]:
    """Numeric text in numeric order (β 0.5, 1, 4, 16, not 0.5, 1, 16, 4), then other text alphabetically."""
    try:
        return 0, float(value), ""
    except ValueError:
        return 1, 0.0, str(value)


def remove_sessions(log_dir: Path, file_suffix: str) -> None:
    for path in log_dir.glob(f"events.out.tfevents.*.{file_suffix}"):
        path.unlink()


@dataclasses.dataclass
class RunOnAxis:
    """Where a run sits in the sweep, for its own TensorBoard cards: its step on the axis (`axis_scalars`), what the
    steps mean, its test KL per dimension and the y-limit every run's chart shares."""

    step: int
    description: str
    kl_per_dim: list[float] | None
    top: float | None


def write_session(log_dir: Path, hparams: dict[str, HParam], row: dict[str, Any], domains: dict[str, list[HParam]],
                  trial: str, file_suffix: str, on_axis: RunOnAxis | None = None) -> None:
    """Replace the session in `log_dir` (its event file ending in `.<file_suffix>`): the experiment, start and end
    summaries, and the run's metrics as scalars under the tags the experiment names, which is where the dashboard
    looks for their values. `trial` names the session in the dashboard's trial column (the run folder: its swept
    values, `model.beta=4,seed=1`). With `on_axis`, the metrics sit at the run's step on the axis, and its KL per
    dimension is drawn on the sweep's shared scale (`report/kl_per_dim`)."""
    remove_sessions(log_dir, file_suffix)
    own_terms = [name for name in row if name not in COLUMNS]
    tags = {f"{TAG_PREFIX}{name}": row[name] for name in (*METRICS, *own_terms)}
    own_domains = {name: domain for name, domain in domains.items() if name in hparams}
    experiment, _, session_end = hparams_summaries(hparams, tags, own_domains)
    step, description = (on_axis.step, on_axis.description) if on_axis else (0, "")
    with SummaryWriter(str(log_dir), filename_suffix=f".{file_suffix}") as writer:
        for summary in (experiment, hparams_pb(hparams, trial_id=trial), session_end):
            writer.file_writer.add_summary(summary)
        for tag, value in tags.items():
            if value is not None:
                add_described_scalar(writer, tag, value, step, description)
        if on_axis and on_axis.kl_per_dim:
            title = (f"test KL per dimension, {trial}: {sum(on_axis.kl_per_dim):.2f} nats in all (y-axis shared by "
                     "the sweep's runs)")
            chart = per_dimension_bar_chart(torch.tensor(on_axis.kl_per_dim), title, top=on_axis.top)
            writer.add_image(f"{TAG_PREFIX}kl_per_dim", card_image(chart), global_step=step)


def _hparam(value: Any) -> HParam:
    """Numbers as text written as on the command line (β `4`, `0.5`, seed `0`): the dashboard prints a number to 5
    significant digits (`4.0000`, `0.50000`). Lists such as `model.channels=[4,8]` as text too."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
