"""Report a sweep along its axis (`report.axis`, β by default): collect its runs, analyse those not analysed yet, and
write the table, the plots against the axis, the side-by-side pictures and a summary to `<sweep>/report/`, with
TensorBoard images there (one TensorBoard run, named `report`) and an HParams session in each finished run.

    python -m vae_lightning.report sweep=outputs/multirun/2026-11-25/10-00-00
    python -m vae_lightning.report sweep=<a FactorVAE γ sweep> report.axis=model.gamma
"""

import shutil
from pathlib import Path
from typing import Any

import hydra
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter

import vae_lightning.config.schema  # noqa: F401  (registers the schema report.yaml names)
import vae_lightning.runs.keys  # noqa: F401  (registers the resolver the config reads)
from vae_lightning.analysis.job import check_analysis_overrides
from vae_lightning.analysis.plots import Publisher
from vae_lightning.analysis.settings_check import REPORT_RANGES, check_ranges
from vae_lightning.cli.allocator import keep_freed_memory
from vae_lightning.cli.commands import run_cli
from vae_lightning.cli.termination import sigterm_raises, stopped_by_sigterm
from vae_lightning.errors import VAELightningError, exit_with
from vae_lightning.reporting.aggregate import write_by_axis_csv
from vae_lightning.reporting.axis import SweepAxis
from vae_lightning.reporting.axis_scalars import write_curves
from vae_lightning.reporting.collect import Sweep, SweepError, collect, is_run_dir
from vae_lightning.reporting.figures import metrics_vs_axis, rate_distortion
from vae_lightning.reporting.hparams import METRICS, write_sessions
from vae_lightning.reporting.images import (
    decode_run,
    reconstruction_strips,
    representative_runs,
    samples_strips,
    traversal_comparison,
)
from vae_lightning.reporting.kl_by_dimension import kl_heatmap
from vae_lightning.reporting.missing_analyses import analyse_missing
from vae_lightning.reporting.pairing import check_same_test_set
from vae_lightning.reporting.sweep_summary import render_sweep_digest, render_sweep_summary
from vae_lightning.reporting.table import markdown_table, model_terms, table_rows, write_csv
from vae_lightning.runs.commands import hydra_path
from vae_lightning.runs.disk_errors import refuse_unwritable, storage_errors


def report(cfg: DictConfig) -> tuple[Path, str]:
    """Write the whole report of `cfg.sweep`; returns its folder and the plain-text digest for the console (the
    Markdown summary is in summary.md)."""
    if OmegaConf.is_missing(cfg, "sweep"):
        raise SweepError(
            "sweep= is required: pass the folder of a multirun of vae_lightning.train, e.g. "
            "sweep=outputs/multirun/2026-01-31/12-00-00."
        )
    check_analysis_overrides(cfg.analysis)
    refuse_single_run(Path(str(cfg.sweep)))
    sweep = collect(str(cfg.sweep), SweepAxis(cfg.report.axis))
    refuse_unwritable(sweep.root, "The report", "Make the sweep writable (chmod -R u+w <sweep>), or report a copy: "
                      "cp -r <sweep> <a writable place> and pass sweep=<the copy>.")
    axis = sweep.axis
    check_same_test_set(sweep.runs)
    if cfg.analyze_missing:
        analyse_missing(sweep.runs, cfg)
    rows = table_rows(sweep)
    output_dir = sweep.root / "report"
    if output_dir.exists():
        shutil.rmtree(output_dir)  # rewritten as a whole: no picture or TensorBoard event from an earlier report stays
    output_dir.mkdir()
    write_csv(rows, output_dir / "runs.csv", axis)
    (output_dir / "runs.md").write_text(markdown_table(rows, axis))
    write_by_axis_csv(rows, output_dir / f"by_{axis.name}.csv", axis)
    write_sessions(sweep, cfg.hparams.file_suffix, cfg.hparams.exclude)
    with SummaryWriter(str(output_dir)) as writer:
        terms = model_terms(sweep)
        left_out = (draw_figures(sweep, rows, terms, cfg, Publisher(output_dir, writer, "report"))
                    if sweep.finished else [])
        write_curves(writer, rows, axis, [*METRICS, *terms])
        summary = render_sweep_summary(sweep, rows, terms, left_out)
        writer.add_text("report/summary", summary)
    (output_dir / "summary.md").write_text(summary)
    return output_dir, render_sweep_digest(sweep, rows, terms, output_dir)


def refuse_single_run(path: Path) -> None:
    """A report compares the runs of a sweep: one run folder is refused, pointing at its sweep or at `analyze`."""
    if not is_run_dir(path):
        return
    parent = path.resolve().parent
    sweep = (f"If it is a point of a sweep, pass the sweep's folder: sweep={hydra_path(parent)}. "
             if any(is_run_dir(sibling) for sibling in parent.iterdir() if sibling != path.resolve()) else "")
    raise SweepError(
        f"sweep={path} is a single run of vae_lightning.train, not a sweep, so there is nothing to compare. {sweep}"
        f"To read this run's latent space: python -m vae_lightning.analyze run={hydra_path(path)}"
    )


def draw_figures(sweep: Sweep, rows: list[dict[str, Any]], terms: dict[str, str], cfg: DictConfig,
                 publish: Publisher) -> list[str]:
    """The plots of the numbers, then the pictures decoded by one finished run of each axis value; returns the runs
    left out of the pictures, with why (a deleted checkpoint, data not found), so that one of them does not sink the
    rest. Files are named after the axis: metrics_vs_beta.png, traversals_by_beta.png for a β sweep."""
    axis = sweep.axis
    publish("rate_distortion", rate_distortion(rows, axis))
    publish(f"metrics_vs_{axis.name}", metrics_vs_axis(rows, axis, terms),
            card=metrics_vs_axis(rows, axis, terms, columns=1))
    if (heatmap := kl_heatmap(sweep.finished, axis)) is not None:
        publish(f"kl_per_dim_by_{axis.name}", heatmap)
    offsets = torch.linspace(-cfg.traversal.range, cfg.traversal.range, cfg.traversal.steps)
    decoded, left_out = [], []
    for run in representative_runs(sweep.runs):
        print(f"Decoding traversals, samples and reconstructions with {run.name} …", flush=True)
        try:
            decoded.append(decode_run(run, axis, offsets, cfg))
        except VAELightningError as error:
            left_out.append(f"`{run.name}`: {error}")
            print(f"Left out of the pictures: {run.name}: {error}", flush=True)
    if decoded:
        side_by_side, stacked = traversal_comparison(decoded, offsets)
        publish(f"traversals_by_{axis.name}", side_by_side, card=stacked)
        publish(f"samples_by_{axis.name}", samples_strips(decoded, axis))
        publish(f"reconstructions_by_{axis.name}", reconstruction_strips(decoded))
    return left_out


KEPT_WHEN_STOPPED = "the analyses that finished are kept in each run's analysis/ and are reused"


@hydra.main(version_base="1.3", config_path="conf", config_name="report")
def main(cfg: DictConfig) -> None:
    try:
        check_ranges(cfg, REPORT_RANGES, "report.yaml")  # before torch is handed the thread count
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        keep_freed_memory()
        with (storage_errors(Path(str(cfg.sweep)), "The runs and their checkpoints are untouched.",
                             "run the same command again."),
              sigterm_raises(SIGTERMException)):
            _, digest = report(cfg)
    except VAELightningError as error:
        exit_with(error)
    except SIGTERMException:
        exit_with(stopped_by_sigterm("report", KEPT_WHEN_STOPPED))
    print(digest)


def cli() -> None:
    """`python -m vae_lightning.report` and `vae-report`: path arguments holding `=` or `,` need no quoting."""
    run_cli(main, ("sweep",), "report")


if __name__ == "__main__":
    cli()
