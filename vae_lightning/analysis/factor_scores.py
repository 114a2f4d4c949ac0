"""Disentanglement of a trained encoder against the data's known generative factors, as `analyze` reports it."""

import time
from typing import Any

from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf

from vae_lightning.analysis import decoding
from vae_lightning.analysis.disentanglement import FactorMetricSettings, factor_metrics
from vae_lightning.errors import ConfigError
from vae_lightning.models import VAE

COMPUTE_CHOICES = ("auto", True, False)
# What each metric's headline number is, for summaries and the report's columns: (metric, key) → label.
HEADLINES = {
    "mig": ("mig", "score", "MIG (Chen et al. 2018)"),
    "dci_disentanglement": ("dci", "disentanglement", "DCI disentanglement (Eastwood & Williams 2018)"),
    "dci_completeness": ("dci", "completeness", "DCI completeness"),
    "dci_informativeness": ("dci", "informativeness_test", "DCI informativeness (test accuracy)"),
    "sap": ("sap", "score", "SAP (Kumar et al. 2018)"),
    "factor_vae_score": ("factor_vae_score", "score", "FactorVAE score (Kim & Mnih 2018)"),
    "beta_vae_score": ("beta_vae_score", "score", "β-VAE score (Higgins et al. 2017)"),
}


def score_factors(model: VAE, datamodule: LightningDataModule, settings: DictConfig,
                  seed: int) -> dict[str, Any] | None:
    """The five metrics of the model's μ on the data's factors, or None when `settings.compute` is auto and the data
    has none; the sample sizes are `settings`' other keys (see `FactorMetricSettings`)."""
    compute = settings.compute
    if compute not in COMPUTE_CHOICES:
        raise ConfigError(f"factor_metrics.compute={compute!r} is not allowed: use auto (when the data has known "
                          "factors), true (required) or false.")
    name = datamodule.hparams.name
    has_factors = getattr(datamodule, "factor_space", None) is not None
    if compute is False or (compute == "auto" and not has_factors):
        return None
    if not has_factors:
        raise ConfigError(f"factor_metrics.compute=true, but data={name} has no known generative factors, which the "
                          "disentanglement metrics need. Analyse a run on data with factors (data=dsprites), or set "
                          "factor_metrics.compute=auto.")
    if model.conditional:
        raise ConfigError("Factor metrics score the code of an unconditional encoder; this model is conditional "
                          "(its code depends on the label it is given). Set factor_metrics.compute=false.")
    sizes = FactorMetricSettings(**{key: value for key, value in OmegaConf.to_container(settings).items()
                                    if key != "compute"})
    print(f"Disentanglement metrics on the {name} factors (MIG, DCI, SAP, FactorVAE and β-VAE scores) …", flush=True)
    started = time.perf_counter()
    result = factor_metrics(datamodule, lambda images: decoding.encode_means(model, images), sizes, seed,
                            progress=lambda line: print(f"  {line}", flush=True), data_name=name)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def headline(result: dict[str, Any] | None, column: str) -> float | None:
    """One headline number of `score_factors`' result (see HEADLINES), or None without one."""
    if result is None:
        return None
    metric, key, _ = HEADLINES[column]
    return result.get(metric, {}).get(key)
