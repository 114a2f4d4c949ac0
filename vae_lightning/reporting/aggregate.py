"""Numbers per value of the sweep's axis over seeds, within each setting (the other swept values): what the plots draw
and the summary quotes. Only finished runs count."""

import csv
import statistics
from pathlib import Path
from typing import Any, NamedTuple

from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.collect import FINISHED
from vae_lightning.reporting.table import columns

NOT_AGGREGATED = ("setting", "axis_value", "seed", "status", "run_dir", "error")


def aggregated_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every numeric column of the table except the point's own coordinates."""
    return [column for column in columns(rows) if column not in NOT_AGGREGATED]


class Spread(NamedTuple):
    """Mean and sample standard deviation (0 for a single seed) over the seeds that have a value."""

    mean: float
    std: float
    count: int


def settings(rows: list[dict[str, Any]]) -> list[str]:
    """The distinct settings of the rows, in order ("" alone when only the axis and seed were swept)."""
    return sorted({row["setting"] for row in rows})


def by_axis(rows: list[dict[str, Any]], column: str, setting: str | None = None) -> dict[float, Spread]:
    """`column` of the finished rows (of one `setting`, or all), grouped by axis value in increasing order; values
    of the axis without any value of `column` are left out."""
    values: dict[float, list[float]] = {}
    for row in rows:
        if setting is not None and row["setting"] != setting:
            continue
        if row["status"] == FINISHED and row["axis_value"] is not None and row[column] is not None:
            values.setdefault(row["axis_value"], []).append(float(row[column]))
    return {
        point: Spread(statistics.fmean(seeds), statistics.stdev(seeds) if len(seeds) > 1 else 0.0, len(seeds))
        for point, seeds in sorted(values.items())
    }


def write_by_axis_csv(rows: list[dict[str, Any]], path: Path, axis: SweepAxis) -> Path:
    """One line per setting and axis value (a column named `axis.name`): mean, std and seed count of every aggregated
    column, the numbers behind the plots."""
    aggregated = aggregated_columns(rows)
    fields = ["setting", axis.name] + [f"{column}_{stat}" for column in aggregated for stat in Spread._fields]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for setting in settings(rows):
            spreads = {column: by_axis(rows, column, setting) for column in aggregated}
            for point in sorted({point for per_point in spreads.values() for point in per_point}):
                cells = [spreads[column].get(point) for column in aggregated]
                writer.writerow([setting, point, *(value for cell in cells for value in (cell or ("", "", 0)))])
    return path
