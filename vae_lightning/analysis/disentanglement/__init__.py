"""Disentanglement metrics of a code against known generative factors: MIG, DCI, SAP, FactorVAE and β-VAE scores."""

from vae_lightning.analysis.disentanglement.settings import FactorMetricSettings
from vae_lightning.analysis.disentanglement.suite import factor_metrics

__all__ = ["FactorMetricSettings", "factor_metrics"]
