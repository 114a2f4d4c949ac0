"""Analyse a trained VAE: restore a run, compute the numbers, draw the figures, write them to `<run>/analysis/` and
to the run's TensorBoard, and print the headline numbers (the Markdown summary is summary.md).

    python -m vae_lightning.analyze run=outputs/2026-11-25/10-00-00_fashion
"""

import time

import hydra
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

import vae_lightning.config.schema  # noqa: F401  (registers the schema analyze.yaml names)
from vae_lightning.analysis.analysis_summary import render_analysis_digest
from vae_lightning.analysis.job import analyze
from vae_lightning.analysis.settings_check import ANALYZE_RANGES, check_ranges
from vae_lightning.cli.allocator import keep_freed_memory
from vae_lightning.cli.commands import run_cli
from vae_lightning.cli.termination import sigterm_raises, stopped_by_sigterm
from vae_lightning.errors import VAELightningError, exit_with

KEPT_WHEN_STOPPED = ("the run's checkpoints and metrics.json are untouched, and its analysis/ may hold part of the new "
                     "figures until the analysis is run again")


@hydra.main(version_base="1.3", config_path="conf", config_name="analyze")
def main(cfg: DictConfig) -> None:
    try:
        check_ranges(cfg, ANALYZE_RANGES, "analyze.yaml")  # before torch is handed the thread count
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        keep_freed_memory()
        started = time.perf_counter()
        with sigterm_raises(SIGTERMException):
            output_dir, metrics = analyze(cfg)
    except VAELightningError as error:
        exit_with(error)
    except SIGTERMException:
        exit_with(stopped_by_sigterm("analyze", KEPT_WHEN_STOPPED))
    print(render_analysis_digest(metrics, output_dir, time.perf_counter() - started))


def cli() -> None:
    """`python -m vae_lightning.analyze` and `vae-analyze`: path arguments holding `=` or `,` need no quoting."""
    run_cli(main, ("run",), "analyze")


if __name__ == "__main__":
    cli()
