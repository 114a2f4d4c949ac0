"""One row per run, the same columns in `runs.csv` (for pandas) and `runs.md` (for reading).

A row holds the run's value of the sweep's axis as `axis_value`; the files name that column after the axis: `beta`
in runs.csv and β in runs.md for a β sweep (see `SweepAxis`).
"""

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vae_lightning.analysis.factor_scores import HEADLINES, headline
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import Run, Sweep

# Disentanglement against known factors (data=dsprites), from each run's analysis.
FACTOR_COLUMNS = tuple(HEADLINES)
# Sample quality on the data's feature network (analysis/sample_quality), from each run's analysis.
SAMPLE_COLUMNS = ("fid", "fid_bootstrap_std", "precision", "recall")

COLUMNS = (
    "setting",
    "axis_value",
    "seed",
    "status",
    "neg_elbo",
    "recon",
    "kl",
    "iwae",
    "active_units",
    "linear_probe",
    *FACTOR_COLUMNS,
    *SAMPLE_COLUMNS,
    "monotonicity",
    "step_change",
    "fit_seconds",
    "run_dir",
    "error",
)
# Headers and number formats of the Markdown table; the error column is left to the summary's list.
MARKDOWN = {
    "setting": ("setting", ""),
    "axis_value": ("axis", "g"),  # headed by the axis's label (β) instead
    "seed": ("seed", "d"),
    "status": ("status", ""),
    "neg_elbo": ("−ELBO", ".2f"),
    "recon": ("recon", ".2f"),
    "kl": ("KL", ".2f"),
    "iwae": ("IWAE", ".2f"),
    "active_units": ("active units", "d"),
    "linear_probe": ("linear probe", ".3f"),
    "mig": ("MIG", ".3f"),
    "dci_disentanglement": ("DCI D", ".3f"),
    "dci_completeness": ("DCI C", ".3f"),
    "dci_informativeness": ("DCI I", ".3f"),
    "sap": ("SAP", ".3f"),
    "factor_vae_score": ("FactorVAE score", ".3f"),
    "beta_vae_score": ("β-VAE score", ".3f"),
    "fid": ("FID", ".2f"),
    "fid_bootstrap_std": ("FID ± (bootstrap)", ".2f"),
    "precision": ("precision", ".3f"),
    "recall": ("recall", ".3f"),
    "monotonicity": ("monotonicity", ".3f"),
    "step_change": ("step change", ".4f"),
    "fit_seconds": ("fit s", ".1f"),
    "run_dir": ("run dir", ""),
}
OPTIONAL_COLUMNS = ("setting", *FACTOR_COLUMNS, *SAMPLE_COLUMNS)
# The objective terms every model reports, in columns of their own; any other term of a model's objective (a
# classifier's accuracy, β-TCVAE's total correlation) gets a column after the probes, named as the model logs it.
ELBO_TERMS = ("loss", "neg_elbo", "recon", "kl")
SMOOTHNESS_NOTE = (
    "monotonicity and step change are means over the traversed dimensions that are active units "
    "(Cov(μ_d) above the analysis threshold): 1 = every pixel changes in one direction across the "
    "traversal; step change = mean absolute pixel change between adjacent steps"
)


def model_terms(sweep: Sweep) -> dict[str, str]:
    """The objective terms beyond the ELBO's that some run reports on its test split, with what each is."""
    terms: dict[str, str] = {}
    for run in sweep.runs:
        metrics = run.metrics or {}
        described = metrics.get("term_descriptions", {})
        for name in metrics.get("test", {}):
            if name not in ELBO_TERMS:
                terms.setdefault(name, described.get(name, name))
    return terms


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The table's columns: the fixed ones with the models' own terms after the probes."""
    extra = [key for key in (rows[0] if rows else {}) if key not in COLUMNS]
    at = COLUMNS.index("monotonicity")
    return [*COLUMNS[:at], *extra, *COLUMNS[at:]]


def table_rows(sweep: Sweep) -> list[dict[str, Any]]:
    """The report's rows, sorted by setting, axis value, then seed (points without a value last)."""
    extra_terms = list(model_terms(sweep))
    rows = [run_row(run, sweep.root, extra_terms) for run in sweep.runs]
    return sorted(rows, key=lambda row: (row["setting"], *_sort_key(row["axis_value"]), *_sort_key(row["seed"]),
                                         row["run_dir"] or ""))


def run_row(run: Run, sweep_root: Path, extra_terms: Sequence[str] = ()) -> dict[str, Any]:
    """The table's values for one run: test objective terms from train's metrics.json (`extra_terms` beyond the
    ELBO's), the rest from its analysis."""
    test = (run.metrics or {}).get("test", {})
    monotonicity, step_change = active_smoothness(run.analysis)
    analysis = run.analysis or {}
    return {
        "setting": run.setting,
        "axis_value": run.axis_value,
        "seed": run.seed,
        "status": run.status,
        "neg_elbo": test.get("neg_elbo"),
        "recon": test.get("recon"),
        "kl": test.get("kl"),
        "iwae": analysis.get("iwae", {}).get("neg_log_likelihood"),
        "active_units": analysis.get("active_units", {}).get("count"),
        "linear_probe": analysis.get("linear_probe", {}).get("accuracy"),
        **{column: headline(analysis.get("factor_metrics"), column) for column in FACTOR_COLUMNS},
        **{column: analysis.get("sample_quality", {}).get(column) for column in SAMPLE_COLUMNS},
        "monotonicity": monotonicity,
        "step_change": step_change,
        "fit_seconds": (run.metrics or {}).get("fit_seconds"),
        "run_dir": None if run.path is None else run.path.relative_to(sweep_root).as_posix(),
        "error": run.error,
        **{name: test.get(name) for name in extra_terms},
    }


def active_smoothness(analysis: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """Mean monotonicity and mean step change over the active traversed dimensions; None without any."""
    per_dim = (analysis or {}).get("traversal", {}).get("per_dim", [])
    active = [row for row in per_dim if row["active"]]
    if not active:
        return None, None
    return (
        sum(row["monotonicity"] for row in active) / len(active),
        sum(row["mean_step_change"] for row in active) / len(active),
    )


def write_csv(rows: list[dict[str, Any]], path: Path, axis: SweepAxis) -> Path:
    """runs.csv: every column, the axis's named by `axis.name`."""
    names = columns(rows)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(axis.name if column == "axis_value" else column for column in names)
        writer.writerows(["" if row[column] is None else row[column] for column in names] for row in rows)
    return path


def markdown_table(rows: list[dict[str, Any]], axis: SweepAxis) -> str:
    """The Markdown table, the axis's column headed by its label; the setting column appears only when some row has
    one, a model's own terms only when some row has a value."""
    specs = {column: MARKDOWN.get(column, (column, ".3f")) for column in columns(rows) if column != "error"}
    shown = {column: spec for column, spec in specs.items()
             if column in MARKDOWN and column not in OPTIONAL_COLUMNS
             or any(row[column] not in (None, "") for row in rows)}
    headers = [axis.label if column == "axis_value" else header for column, (header, _) in shown.items()]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [
            "" if row[column] is None else format(row[column], number_format)
            for column, (_, number_format) in shown.items()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _sort_key(value: float | None) -> tuple[bool, float]:
    return value is None, 0.0 if value is None else value
