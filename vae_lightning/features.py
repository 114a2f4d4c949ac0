"""Train a dataset's in-domain feature network once and cache it: the classifier whose penultimate features FID,
precision and recall compare. `analyze` reads it from the cache (training it there on first use).

    python -m vae_lightning.features data=fashion
"""

import hydra
import torch
from omegaconf import DictConfig

import vae_lightning.config.schema  # noqa: F401  (registers the schema features.yaml names)
from vae_lightning.analysis.sample_quality.numbers import load_feature_network, source_splits
from vae_lightning.cli.commands import run_cli
from vae_lightning.engine.building import build
from vae_lightning.errors import VAELightningError, exit_with
from vae_lightning.runs.loading import pick_device


def features(cfg: DictConfig) -> str:
    """Read (or train and cache) the feature network of `cfg.data`; returns the lines that describe it."""
    datamodule = build(cfg.data)
    cached = load_feature_network(datamodule, source_splits(datamodule), cfg.cache_dir, pick_device(cfg.device),
                                  retrain=cfg.retrain)
    record = cached.record
    trained = record["training_data"]
    return (f"Feature network of {record['dataset']}: {cached.path}\n"
            f"  trained on {trained['num_images']} training images (sha256 {trained['sha256'][:12]}…) in "
            f"{record['train_seconds']:.0f} s on {record['device']}, {record['created']}\n"
            f"  test accuracy {record['test_accuracy']:.4f} on {record['num_test_images']} test images")


@hydra.main(version_base="1.3", config_path="conf", config_name="features")
def main(cfg: DictConfig) -> None:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        print(features(cfg))
    except VAELightningError as error:
        exit_with(error)


def cli() -> None:
    """`python -m vae_lightning.features` and `vae-features`: path arguments holding `=` or `,` need no quoting."""
    run_cli(main, ("cache_dir",), "features")


if __name__ == "__main__":
    cli()
