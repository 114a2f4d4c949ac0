"""What a run's result files must hold for the report to read them, and what is wrong when they do not.

A file can be valid JSON and still not be what train or analyze wrote: `{}`, a string where the test results belong,
a NaN (train writes strict JSON, so a NaN means the file was changed). Each check returns one phrase naming the
first problem, so the report lists the run as unreadable with why, instead of failing on it.
"""

import math
from typing import Any

# Numbers train writes beside the test results, read by the report's table and time estimates.
RUN_NUMBERS = ("fit_seconds", "global_step", "epochs_trained", "num_test_images")
TEST_SET_KEY = "test_set"
# Mappings the report reads from an analysis, with the numbers it reads in each (one list of dimensions).
ANALYSIS_NUMBERS = {"iwae": ("neg_log_likelihood",), "active_units": ("count",), "linear_probe": ("accuracy",)}
TRAVERSAL_KEYS = {"active", "monotonicity", "mean_step_change"}


def metrics_problem(metrics: dict[str, Any]) -> str | None:
    """Why train's metrics.json cannot be read as a finished run's results, or None when it can."""
    test = metrics.get("test")
    if not isinstance(test, dict) or not test:
        return f"has no test results (its 'test' is {_shown(test)}, not an object of numbers)"
    for key, value in test.items():
        if not _is_number(value):
            return f"has test.{key} = {_shown(value)}, not a number"
    for key, value in metrics.items():
        if key == TEST_SET_KEY:  # the test images' fingerprint, which pairs runs: a string, not a per-dimension list
            if not isinstance(value, str):
                return f"has {key} = {_shown(value)}, not the test images' fingerprint (a string)"
            continue
        if key.startswith("test_") and not (isinstance(value, list) and all(map(_is_number, value))):
            return f"has {key} = {_shown(value)}, not a list of numbers"
        if key in RUN_NUMBERS and value is not None and not _is_number(value):
            return f"has {key} = {_shown(value)}, not a number"
        if key in ("term_descriptions", "likelihood") and value is not None and not isinstance(value, dict):
            return f"has {key} = {_shown(value)}, not an object"
    if (where := _non_finite(metrics)) is not None:
        return f"holds a non-finite number at {where}, which train never writes (it writes strict JSON)"
    return None


def analysis_problem(analysis: dict[str, Any]) -> str | None:
    """Why an analysis/metrics.json cannot be read as an analysis, or None when it can: an empty one, or a block
    the report reads that is not what analyze writes."""
    if not analysis:
        return "is empty"
    for block, numbers in ANALYSIS_NUMBERS.items():
        section = analysis.get(block, {})
        if not isinstance(section, dict):
            return f"has {block} = {_shown(section)}, not an object"
        for key in numbers:
            if key in section and not _is_number(section[key]):
                return f"has {block}.{key} = {_shown(section[key])}, not a number"
    dims = analysis.get("active_units", {}).get("dims", [])
    if not (isinstance(dims, list) and all(isinstance(dim, int) and not isinstance(dim, bool) for dim in dims)):
        return f"has active_units.dims = {_shown(dims)}, not a list of dimension indices"
    traversal = analysis.get("traversal", {})
    per_dim = traversal.get("per_dim", []) if isinstance(traversal, dict) else None
    if not (isinstance(per_dim, list) and all(isinstance(row, dict) and row.keys() >= TRAVERSAL_KEYS
                                              for row in per_dim)):
        return f"has a traversal block without per-dimension rows ({', '.join(sorted(TRAVERSAL_KEYS))})"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _non_finite(value: Any, where: str = "") -> str | None:
    """The dotted place of the first NaN or infinity in `value`, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "the top level"
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        place = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip(".")
        if (found := _non_finite(child, place)) is not None:
            return found
    return None


def _shown(value: Any) -> str:
    """A value as it reads in a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}…"
