"""All five disentanglement metrics of one encoder on data with known factors, as one JSON-ready dict.

The metric definitions follow disentanglement_lib (Locatello et al. 2019) where the papers differ; each metric's
entry names its sample sizes and conventions so a number can be read without this code.
"""

from collections.abc import Callable
from typing import Any

from torch import Tensor

from vae_lightning.analysis.disentanglement.dci import dci
from vae_lightning.analysis.disentanglement.intervention_scores import beta_vae_score, factor_vae_score
from vae_lightning.analysis.disentanglement.mutual_information import mig
from vae_lightning.analysis.disentanglement.sampling import (
    CodeSampler,
    EncodedGrid,
    factor_space_of,
    metric_generators,
    sklearn_seed,
)
from vae_lightning.analysis.disentanglement.sap import sap
from vae_lightning.analysis.disentanglement.settings import FactorMetricSettings
from vae_lightning.data.factors import FactorSource

SEEDING = ("numpy SeedSequence(seed).spawn(5) gives one torch.Generator per metric (mig, dci, sap, factor_vae_score, "
           "beta_vae_score, in that order); each draws its factors and its sklearn random_state from it")


def factor_metrics(source: FactorSource, encode: Callable[[Tensor], Tensor], settings: FactorMetricSettings,
                   seed: int, progress: Callable[[str], None] | None = None,
                   data_name: str | None = None) -> dict[str, Any]:
    """MIG, DCI, SAP, FactorVAE score and β-VAE score of the code `encode` gives to `source`'s images.

    `encode` maps float images (n, C, H, W) in [0, 1] on the CPU to codes (n, D) on any device, normally the
    posterior mean μ; it is called on at most `settings.encode_batch_size` images at a time. `data_name` (the
    `data=` choice) only words the error for data without factors. The same seed and settings give the same numbers.
    `progress` receives one line per metric as it starts."""
    space = factor_space_of(source, data_name or type(source).__name__)
    report = progress or (lambda message: None)
    if settings.encode_whole_grid and space.num_combinations <= settings.max_grid_size:
        sampler: CodeSampler = EncodedGrid(source, encode, settings.encode_batch_size, space, report)
    else:
        sampler = CodeSampler(source, encode, settings.encode_batch_size)
    generators = metric_generators(seed)
    names = space.names
    results: dict[str, Any] = {"seed": seed, "seeding": SEEDING, "factors": list(names),
                               "factor_sizes": list(space.sizes),
                               "codes": "posterior mean μ; every grid combination encoded once and looked up"
                               if isinstance(sampler, EncodedGrid) else "posterior mean μ, encoded per sample"}

    report(f"MIG: encoding {settings.mig_num_train} images")
    codes, factors = sampler.sample(space, settings.mig_num_train, generators["mig"])
    results["mig"] = mig(codes, factors, settings.mig_num_bins, names)

    report(f"DCI: encoding {settings.dci_num_train} + {settings.dci_num_test} images and fitting "
           f"{settings.dci_model.replace('_', ' ')} classifiers")
    train = sampler.sample(space, settings.dci_num_train, generators["dci"])
    test = sampler.sample(space, settings.dci_num_test, generators["dci"])
    results["dci"] = dci(*train, *test, names, sklearn_seed(generators["dci"]), settings.dci_model, settings.dci_jobs)

    report(f"SAP: encoding {settings.sap_num_train} + {settings.sap_num_test} images and fitting classifiers")
    train = sampler.sample(space, settings.sap_num_train, generators["sap"])
    test = sampler.sample(space, settings.sap_num_test, generators["sap"])
    results["sap"] = sap(*train, *test, names, sklearn_seed(generators["sap"]))

    report(f"FactorVAE score: {settings.factor_vae_num_train} + {settings.factor_vae_num_eval} votes of "
           f"{settings.factor_vae_batch_size} images")
    results["factor_vae_score"] = factor_vae_score(
        sampler, space, settings.factor_vae_batch_size, settings.factor_vae_num_train, settings.factor_vae_num_eval,
        settings.factor_vae_num_variance_estimate, generators["factor_vae_score"])

    report(f"β-VAE score: {settings.beta_vae_num_train} + {settings.beta_vae_num_eval} batches of "
           f"{settings.beta_vae_batch_size} image pairs")
    results["beta_vae_score"] = beta_vae_score(sampler, space, settings.beta_vae_batch_size,
                                               settings.beta_vae_num_train, settings.beta_vae_num_eval,
                                               generators["beta_vae_score"])
    for name in ("mig", "dci", "sap", "factor_vae_score", "beta_vae_score"):
        results[name]["seed"] = seed
    return results
