"""One row per run, the same columns in `runs.csv` (for pandas) and `runs.md` (for reading)."""

import csv
from pathlib import Path
from typing import Any

from vae_lightning.reporting.collect import Run, Sweep

COLUMNS = (
    "setting",
    "beta",
    "seed",
    "status",
    "neg_elbo",
    "recon",
    "kl",
    "iwae",
    "active_units",
    "linear_probe",
    "accuracy",
    "monotonicity",
    "step_change",
    "fit_seconds",
    "run_dir",
    "error",
)
# Headers and number formats of the Markdown table; the error column is left to the summary's list.
MARKDOWN = {
    "setting": ("setting", ""),
    "beta": ("β", "g"),
    "seed": ("seed", "d"),
    "status": ("status", ""),
    "neg_elbo": ("−ELBO", ".2f"),
    "recon": ("recon", ".2f"),
    "kl": ("KL", ".2f"),
    "iwae": ("IWAE", ".2f"),
    "active_units": ("active units", "d"),
    "linear_probe": ("linear probe", ".3f"),
    "accuracy": ("classifier acc.", ".3f"),
    "monotonicity": ("monotonicity", ".3f"),
    "step_change": ("step change", ".4f"),
    "fit_seconds": ("fit s", ".1f"),
    "run_dir": ("run dir", ""),
}
OPTIONAL_COLUMNS = ("setting", "accuracy")
SMOOTHNESS_NOTE = (
    "monotonicity and step change are means over the traversed dimensions that are active units "
    "(Cov(μ_d) above the analysis threshold): 1 = every pixel changes in one direction across the "
    "traversal; step change = mean absolute pixel change between adjacent steps"
)


def table_rows(sweep: Sweep) -> list[dict[str, Any]]:
    """The report's rows, sorted by setting, β, then seed (points without a value last). The setting and classifier
    columns are left out when no run has them."""
    rows = [run_row(run, sweep.root) for run in sweep.runs]
    return sorted(rows, key=lambda row: (row["setting"], *_sort_key(row["beta"]), *_sort_key(row["seed"]),
                                         row["run_dir"] or ""))


def run_row(run: Run, sweep_root: Path) -> dict[str, Any]:
    """The table's values for one run: test ELBO terms (and a classifier's accuracy) from train's metrics.json, the
    rest from its analysis."""
    test = (run.metrics or {}).get("test", {})
    monotonicity, step_change = active_smoothness(run.analysis)
    analysis = run.analysis or {}
    return {
        "setting": run.setting,
        "beta": run.beta,
        "seed": run.seed,
        "status": run.status,
        "neg_elbo": test.get("neg_elbo"),
        "recon": test.get("recon"),
        "kl": test.get("kl"),
        "iwae": analysis.get("iwae", {}).get("neg_log_likelihood"),
        "active_units": analysis.get("active_units", {}).get("count"),
        "linear_probe": analysis.get("linear_probe", {}).get("accuracy"),
        "accuracy": test.get("accuracy"),  # the classifier head's, for model=vae_classifier
        "monotonicity": monotonicity,
        "step_change": step_change,
        "fit_seconds": (run.metrics or {}).get("fit_seconds"),
        "run_dir": None if run.path is None else run.path.relative_to(sweep_root).as_posix(),
        "error": run.error,
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


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)
    return path


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table; the setting and classifier-accuracy columns appear only when some row has a value."""
    shown = {column: spec for column, spec in MARKDOWN.items()
             if column not in OPTIONAL_COLUMNS or any(row[column] not in (None, "") for row in rows)}
    headers = [header for header, _ in shown.values()]
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
