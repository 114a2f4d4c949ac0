"""Sample sizes of the disentanglement metrics, with the defaults of disentanglement_lib (Locatello et al. 2019)."""

import dataclasses

from vae_lightning.errors import ConfigError

DCI_MODELS = ("gradient_boosting", "random_forest")


@dataclasses.dataclass(frozen=True)
class FactorMetricSettings:
    """How many factor combinations each metric samples; defaults are disentanglement_lib's `unsupervised_study_v1`.

    `*_batch_size` is the number of images per vote (FactorVAE score) or per pair batch (β-VAE score);
    `dci_model` is gradient_boosting (disentanglement_lib's) or random_forest (faster, biased upwards for entangled
    codes, see `dci`); `dci_jobs` fits DCI's factors in that many processes (-1: one per core), same numbers.
    `encode_batch_size` is how many images go to one `encode` call, which bounds memory, not the results.
    `encode_whole_grid` encodes every factor combination once and looks the metrics' samples up: the same numbers
    for a deterministic encoder (μ), and one pass over the grid (737,280 images for dSprites) instead of ~3 million
    encodings; it applies when the grid has at most `max_grid_size` combinations.
    """

    mig_num_train: int = 10_000
    mig_num_bins: int = 20
    dci_num_train: int = 10_000
    dci_num_test: int = 5_000
    dci_model: str = "gradient_boosting"
    dci_jobs: int = 1
    sap_num_train: int = 10_000
    sap_num_test: int = 5_000
    factor_vae_batch_size: int = 64
    factor_vae_num_train: int = 10_000
    factor_vae_num_eval: int = 5_000
    factor_vae_num_variance_estimate: int = 10_000
    beta_vae_batch_size: int = 64
    beta_vae_num_train: int = 10_000
    beta_vae_num_eval: int = 5_000
    encode_batch_size: int = 1_000
    encode_whole_grid: bool = True
    max_grid_size: int = 2_000_000

    def __post_init__(self) -> None:
        # A variance needs two codes; a histogram with one bin carries no information.
        minimum = {"factor_vae_batch_size": 2, "factor_vae_num_variance_estimate": 2, "mig_num_bins": 2}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "dci_model":
                if value not in DCI_MODELS:
                    raise ConfigError(f"Factor metric setting dci_model={value!r} is not allowed: use "
                                      f"{' or '.join(DCI_MODELS)}.")
                continue
            if field.name == "dci_jobs":
                if not isinstance(value, int) or isinstance(value, bool) or value == 0 or value < -1:
                    raise ConfigError(f"Factor metric setting dci_jobs={value!r} is not allowed: use a number of "
                                      "processes ≥ 1, or -1 for one per core.")
                continue
            if field.name == "encode_whole_grid":
                if not isinstance(value, bool):
                    raise ConfigError(f"Factor metric setting encode_whole_grid={value!r} must be true or false.")
                continue
            least = minimum.get(field.name, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(
                    f"Factor metric setting {field.name}={value!r} is not allowed: it must be an integer ≥ {least}. "
                    f"Set it to at least {least} (the disentanglement_lib default is {field.default})."
                )
