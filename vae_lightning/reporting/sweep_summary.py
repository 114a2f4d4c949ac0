"""`summary.md`: the table plus a few sentences read off the numbers, what did not finish, and how to fix that; and
the few plain lines `report` prints at its end."""

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vae_lightning.reporting.aggregate import Spread, by_axis, settings
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import FAILED, FINISHED, MISSING, STATUSES, UNFINISHED, Sweep
from vae_lightning.reporting.sweep_points import hydra_path, shell_command
from vae_lightning.reporting.table import SMOOTHNESS_NOTE, markdown_table

# How the summary describes the change of a column from the smallest to the largest axis value.
TRENDS = (
    ("kl", "the KL (rate)", 2, " nats/image"),
    ("recon", "reconstruction", 2, " nats/image"),
    ("active_units", "active units", 0, ""),  # a count: whole means as integers
)

# Why a point without a recorded error did not finish.
NO_ERROR_REASON = {
    UNFINISHED: "killed or still running: no metrics.json or failure.json",
    MISSING: "never started",
    FAILED: "no error message recorded",
}


def render_sweep_summary(sweep: Sweep, rows: list[dict[str, Any]], model_terms: dict[str, str] | None = None,
                         left_out_of_pictures: Sequence[str] = ()) -> str:
    """The report in Markdown; `model_terms` are the models' own objective terms (name → description), and
    `left_out_of_pictures` lists finished runs the pictures could not use, with why."""
    model_terms = model_terms or {}
    axis = sweep.axis
    counted = ", ".join(f"{sum(row['status'] == status for row in rows)} {status}" for status in STATUSES)
    lines = [
        f"# {axis.label}-sweep report: `{sweep.root}`",
        "",
        f"{len(rows)} point{'s' * (len(rows) != 1)}: {counted}.",
        "",
        *_what_the_numbers_are(sweep),
        *_findings(rows, axis, model_terms),
        "",
        f"Test-set numbers in nats per image (KL is the rate); per-{axis.label} numbers are means over the finished "
        f"seeds ± the sample standard deviation over seeds (here and in the plots). Smoothness: {SMOOTHNESS_NOTE}.",
        "",
        markdown_table(rows, axis),
        *_not_finished(sweep, rows),
        *_without_analysis(sweep, rows),
        *_left_out(left_out_of_pictures),
    ]
    return "\n".join(lines).rstrip() + "\n"


def render_sweep_digest(sweep: Sweep, rows: list[dict[str, Any]], model_terms: dict[str, str],
                        output_dir: Path) -> str:
    """The console's closing lines: plain text (no Markdown), the points by status, the findings, and where the table,
    the plots and summary.md (with what did not finish and the command that completes it) are."""
    counted = ", ".join(f"{sum(row['status'] == status for row in rows)} {status}" for status in STATUSES)
    findings = [f"  {line.removeprefix('- ')}" for line in _findings(rows, sweep.axis, model_terms) if line]
    unfinished = sum(row["status"] != FINISHED for row in rows)
    lines = [f"{sweep.axis.label}-sweep of {len(rows)} point{'s' * (len(rows) != 1)} ({counted}):", *findings]
    if unfinished:
        lines.append(f"  {unfinished} point(s) did not finish (summary.md says why)"
                     + ("; this completes the sweep, skipping finished points:" if sweep.rerun_command else "."))
        lines += [sweep.rerun_command] if sweep.rerun_command else []
    lines.append(f"Table, plots, pictures and summary.md: {output_dir}; TensorBoard: "
                 f"{shlex.join(['tensorboard', '--logdir', str(sweep.root)])}")
    return "\n".join(lines)


def _what_the_numbers_are(sweep: Sweep) -> list[str]:
    """What the ELBO and IWAE columns are under the sweep's decoder likelihoods (as train's metrics.json records
    them): a log-likelihood, or — a Bernoulli decoder on grey pixels — a reconstruction loss, not a likelihood."""
    described = {(entry["likelihood"], entry["quantity"], entry["normalised"]) for run in sweep.runs
                 if (entry := (run.metrics or {}).get("likelihood"))}
    lines = [f"Decoder `{name}`: {quantity}." for name, quantity, _ in sorted(described)]
    if any(not normalised for _, _, normalised in described):
        lines.append("**The −ELBO, reconstruction and IWAE numbers of those runs are a reconstruction loss, not a "
                     "likelihood**: they are not bounds on −log p(x) and do not compare with published "
                     "log-likelihoods.")
    return [*lines, ""] if lines else []


def _findings(rows: list[dict[str, Any]], axis: SweepAxis, model_terms: dict[str, str]) -> list[str]:
    """The findings of each setting (the other swept values), under its name when there is more than one."""
    groups = settings(rows)
    if len(groups) == 1:
        return _findings_within(rows, groups[0], axis, model_terms)
    return [line for setting in groups
            for line in (f"With `{setting}`:", "", *_findings_within(rows, setting, axis, model_terms), "")]


def _findings_within(rows: list[dict[str, Any]], setting: str, axis: SweepAxis,
                     model_terms: dict[str, str]) -> list[str]:
    """Which axis value is best by each bound, how rate, distortion and active units move across the sweep, and where
    each of the models' own terms stands at the ends of the sweep."""
    neg_elbo, iwae = by_axis(rows, "neg_elbo", setting), by_axis(rows, "iwae", setting)
    probe = by_axis(rows, "linear_probe", setting)
    if not neg_elbo:
        return ["No run finished, so there are no numbers to compare yet."]
    findings = [f"- Lowest test negative ELBO: {_best(neg_elbo, min, '.2f', axis)} nats/image."]
    if iwae:
        findings.append(f"- Lowest IWAE bound: {_best(iwae, min, '.2f', axis)} nats/image.")
    if probe:
        findings.append(f"- Highest linear-probe accuracy on μ: {_best(probe, max, '.3f', axis)}.")
    for name, description in model_terms.items():
        if spreads := by_axis(rows, name, setting):
            ends = sorted({min(spreads), max(spreads)})
            findings.append(f"- {description}: "
                            + ", ".join(f"{spreads[p].mean:.3f} at {_at(axis, p)}" for p in ends) + ".")
    if len(neg_elbo) > 1:
        first, last = min(neg_elbo), max(neg_elbo)
        trends = [
            f"{label} {_span(by_axis(rows, column, setting), digits, unit, (first, last), axis)}"
            for column, label, digits, unit in TRENDS
            if by_axis(rows, column, setting)
        ]
        listed = ", ".join(trends[:-1]) + " and " + trends[-1] if len(trends) > 1 else trends[0]
        findings.append(f"- From {_at(axis, first)} to {_at(axis, last)}: {listed}.")
    return findings


def _best(spreads: dict[float, Spread], pick: Any, number_format: str, axis: SweepAxis) -> str:
    """The axis value whose mean `pick` (min or max) chooses, as "β = 4 (mean ± sd of 2 seeds): 512.30 ± 1.20", or
    "β = 4 (mean of 1 seed): 512.30" where a single seed has no spread."""
    point = pick(spreads, key=lambda p: spreads[p].mean)
    spread = spreads[point]
    if spread.count == 1:
        return f"{_at(axis, point)} (mean of 1 seed): {spread.mean:{number_format}}"
    return (f"{_at(axis, point)} (mean ± sd of {spread.count} seeds): {spread.mean:{number_format}} ± "
            f"{spread.std:{number_format}}")


def _span(spreads: dict[float, Spread], digits: int, unit: str, sentence_ends: tuple[float, float],
          axis: SweepAxis) -> str:
    """The change "from a to b", or "unchanged at a"; the axis values are named when they differ from the sentence's
    (a column only analysed runs have)."""
    ends = min(spreads), max(spreads)
    first, last = (_number(spreads[point].mean, digits) for point in ends)
    if first == last:
        return f"unchanged at {first}{unit}"
    if ends == sentence_ends:
        return f"from {first} to {last}{unit}"
    return f"from {first} ({_at(axis, ends[0])}) to {last} ({_at(axis, ends[1])}){unit}"


def _at(axis: SweepAxis, value: float | None) -> str:
    """A point of the axis as the summary writes it: "β = 4", "β = ?" when unknown."""
    return f"{axis.label} = {_or_unknown(value)}"


def _number(value: float, digits: int) -> str:
    """`value` with `digits` decimals; a count (`digits` 0) as an integer when its mean over seeds is whole (32
    active units, not 32.0), else with one decimal."""
    if digits == 0 and not float(value).is_integer():
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def _not_finished(sweep: Sweep, rows: list[dict[str, Any]]) -> list[str]:
    """Failed, unfinished and missing points with their errors (left out of every plot), and the rerun command."""
    lines = []
    for row in (row for row in rows if row["status"] != FINISHED):
        where = f"`{row['run_dir']}`" if row["run_dir"] else "no run folder"
        reason = _one_line(row["error"]) if row["error"] else NO_ERROR_REASON[row["status"]]
        lines.append(
            f"- {_at(sweep.axis, row['axis_value'])}, seed {_or_unknown(row['seed'])}: **{row['status']}** "
            f"({where}): {reason}"
        )
    if not sweep.points_known:
        lines.append(
            "- The sweep's overrides include interval or glob sweeps, so points that never started cannot be listed."
        )
    if not lines:
        return []
    lines = ["## Not finished (left out of the plots)", "", *lines, ""]
    if sweep.rerun_command:
        lines += [
            "Rerun only what is missing (finished points are skipped):",
            "",
            "```",
            sweep.rerun_command,
            "```",
            "",
        ]
    return lines


def _without_analysis(sweep: Sweep, rows: list[dict[str, Any]]) -> list[str]:
    """Finished runs with empty analysis columns: why (when their analysis failed) and the command that fills them."""
    unanalysed = [row for row in rows if row["status"] == FINISHED and row["iwae"] is None]
    if not unanalysed:
        return []
    failures = [f"- `{row['run_dir']}`: {_one_line(row['error'])}" for row in unanalysed if row["error"]]
    return [
        "## Runs without analysis",
        "",
        f"{len(unanalysed)} finished run(s) have no analysis/metrics.json, so their IWAE, active-unit, probe and "
        "smoothness columns are empty.",
        "",
        *failures,
        *([""] if failures else []),
        "Fill them" + (" once the failures above are fixed" if failures else "") + " with",
        "",
        "```",
        shell_command("vae_lightning.report", [f"sweep={hydra_path(sweep.root)}", "analyze_missing=true"]),
        "```",
        "",
    ]


def _left_out(entries: Sequence[str]) -> list[str]:
    return ["## Left out of the pictures", "", *(f"- {entry}" for entry in entries)] if entries else []


def _one_line(text: str) -> str:
    """An error message fit for one Markdown list item (a traceback or a wrapped message spans lines)."""
    return " ".join(text.split())


def _or_unknown(value: Any) -> str:
    return "?" if value is None else f"{value:g}"
