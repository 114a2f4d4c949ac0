"""Runs compared in one report must have been scored on the same test images: otherwise their differences mix the
models with the data. Every finished run records its test set's fingerprint in metrics.json (`test_set`)."""

from vae_lightning.reporting.collect import Run, SweepError


def check_same_test_set(runs: list[Run]) -> None:
    """Refuse a report whose finished runs of one setting (the same other swept values, so the same dataset) were
    tested on different images, naming two such runs and their fingerprints. Runs from before the fingerprint was
    recorded are not checked."""
    first_of: dict[str, Run] = {}
    for run in runs:
        fingerprint = (run.metrics or {}).get("test_set")
        if not isinstance(fingerprint, str):
            continue
        first = first_of.setdefault(run.setting, run)
        if first.metrics["test_set"] != fingerprint:
            raise SweepError(
                f"Runs {first.path} and {run.path} were tested on different images (test-set fingerprints "
                f"{first.metrics['test_set']} vs {fingerprint}), so the report cannot compare or average them: their "
                "differences would mix the models with the data. This happens when data.root pointed at other files "
                "or data.binarize differed between them. Train the odd runs again on the same data with redo=true, "
                "or report them as separate sweeps."
            )
