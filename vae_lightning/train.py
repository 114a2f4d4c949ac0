"""Train a VAE: compose the config, build data, model and trainer from it, fit, test the best checkpoint, and write
`metrics.json` into the run directory.

    python -m vae_lightning.train data=fashion model.beta=4
"""

import sys
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from vae_lightning.atomic import write_json_atomic
from vae_lightning.checkpoints import check_compatible, load_checkpoint
from vae_lightning.errors import VAELightningError


def train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Fit and test one configuration; returns what it writes to `run_dir/metrics.json`."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg.data)
    datamodule.prepare_data()  # find the data before anything heavier is built, so a data problem is reported first
    model = build(cfg.model, image_shape=list(datamodule.image_shape), optimizer=cfg.optimizer.name,
                  lr=cfg.optimizer.lr, weight_decay=cfg.optimizer.weight_decay)
    if cfg.ckpt_path:
        check_compatible(load_checkpoint(cfg.ckpt_path), cfg.ckpt_path, dict(model.hparams))
    callbacks = [build(callback) for callback in cfg.callbacks.values()]
    trainer = build(cfg.trainer, callbacks=callbacks, logger=build(cfg.logger))

    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
    fit_seconds = time.perf_counter() - started

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    (results,) = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
    metrics = collect_test_metrics(results, latent_dim=model.hparams.latent_dim)
    metrics.update(
        dataset=datamodule.hparams.name,
        num_test_images=datamodule.num_images("test"),
        checkpoint=_relative_if_inside(Path(best), run_dir) if best else None,
        epochs_trained=trainer.current_epoch,
        global_step=trainer.global_step,
        fit_seconds=round(fit_seconds, 2),
        seed=cfg.seed,
        hparams=dict(model.hparams),
    )
    write_json_atomic(run_dir / "metrics.json", metrics)
    return metrics


def _relative_if_inside(path: Path, directory: Path) -> str:
    return str(path.relative_to(directory)) if path.is_relative_to(directory) else str(path)


def build(node: DictConfig, **kwargs: Any) -> Any:
    """`hydra.utils.instantiate` with plain Python containers, re-raising our own errors unwrapped.

    Hydra wraps every constructor error in an InstantiationException; a ConfigError must reach the user as itself.
    """
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, VAELightningError):
            raise error.__cause__ from None
        raise


def collect_test_metrics(results: dict[str, float], latent_dim: int) -> dict[str, Any]:
    """Regroup Lightning's flat `test/...` results into the terms of the objective and the per-dimension KL."""
    terms = {name: results[f"test/{name}"] for name in ("neg_elbo", "recon", "kl", "loss")}
    return {
        "units": "nats per image",
        "test": terms,
        "test_kl_per_dim": [results[f"test/kl_per_dim/{d:02d}"] for d in range(latent_dim)],
    }


def summary(run_dir: Path, metrics: dict[str, Any]) -> str:
    test = metrics["test"]
    return (
        f"Run directory: {run_dir}\n"
        f"Test ({metrics['num_test_images']} {metrics['dataset']} images, checkpoint {metrics['checkpoint']}): "
        f"negative ELBO {test['neg_elbo']:.2f} nats/image = reconstruction {test['recon']:.2f} + KL {test['kl']:.2f}"
    )


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = train(cfg, run_dir)
    except VAELightningError as error:
        print(f"\nError: {error}", file=sys.stderr)
        sys.exit(2)
    print(summary(run_dir, metrics))
    return metrics["test"]["neg_elbo"]


if __name__ == "__main__":
    main()
