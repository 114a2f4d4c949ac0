"""The types of the settings in conf/train.yaml, analyze.yaml and report.yaml, as Hydra structured configs.

Each YAML file names its schema first in its `defaults` list (Hydra 1.3's "Structured Configs as schema"), so Hydra
and OmegaConf refuse a misspelt key or a value of the wrong type while composing, before any code runs. The values
and their comments stay in the YAML; a field here only types it.

The other groups (`model`, `data`, `optimizer`, `scheduler`, `logger`, `callbacks`) are `Any` here: a node that
builds a class (`_target_`) is checked against that class's signature before the run starts
(vae_lightning/cli/config_check.py), so no schema here repeats it. A new config group needs its field here,
`Any` or typed.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf


@dataclass
class TrainerSettings:
    """The `lightning.pytorch.Trainer` arguments conf/trainer/*.yaml set, typed as Lightning types them (where
    OmegaConf can: its Literals are strings or integers here)."""

    _target_: str = MISSING
    accelerator: str = MISSING
    devices: Any = MISSING  # an integer, a list of device indices, or "auto"
    max_epochs: int | None = MISSING
    max_steps: int = MISSING
    precision: int | str | None = MISSING
    log_every_n_steps: int | None = MISSING
    check_val_every_n_epoch: int | None = MISSING
    limit_train_batches: int | float | None = MISSING  # an integer counts batches, a float is a fraction of the epoch
    limit_val_batches: int | float | None = MISSING
    limit_test_batches: int | float | None = MISSING
    enable_progress_bar: bool | None = MISSING
    deterministic: bool | str | None = MISSING  # or "warn"
    default_root_dir: str | None = MISSING


@dataclass
class TrainSettings:
    """conf/train.yaml: the run-level settings and one field per config group."""

    data: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = None  # none unless a scheduler group option is chosen (scheduler=cosine)
    trainer: TrainerSettings = field(default_factory=TrainerSettings)
    logger: Any = MISSING
    callbacks: Any = MISSING
    seed: int = MISSING
    ckpt_path: str | None = MISSING
    resume: str | None = MISSING
    redo: bool = MISSING
    analyze: bool = MISSING
    analysis: list[str] = MISSING  # analyze.yaml overrides, key=value
    threads: int | None = MISSING


@dataclass
class DataLocation:
    """Where a trained run's data is read from by analyze and report; null keeps what the run was trained with."""

    root: str | None = MISSING
    cache_dir: str | None = MISSING
    eval_batch_size: int | None = MISSING


@dataclass
class RestoreSettings:
    """What analyze and report share: which checkpoint of a run, restored how, on which data."""

    checkpoint: str = MISSING  # best | last
    seed: int = MISSING
    device: str = MISSING  # auto | cpu | cuda
    trusted_packages: list[str] = MISSING
    threads: int | None = MISSING
    data: DataLocation = field(default_factory=DataLocation)


@dataclass
class IWAEConvergence:
    num_samples: list[int] = MISSING
    num_images: int | None = MISSING


@dataclass
class IWAESettings:
    num_samples: int = MISSING
    num_images: int | None = MISSING
    batch_size: int = MISSING
    precision_check_images: int = MISSING
    convergence: IWAEConvergence = field(default_factory=IWAEConvergence)


@dataclass
class ActiveUnitsSettings:
    threshold: float = MISSING


@dataclass
class ProbeSettings:
    max_train_images: int | None = MISSING
    knn_k: int = MISSING
    informative_kl: float = MISSING


@dataclass
class TraversalSettings:
    range: float = MISSING
    steps: int = MISSING
    num_base_images: int = MISSING
    grid_dims: int = MISSING
    animation_dims: int = MISSING


@dataclass
class InterpolationSettings:
    num_pairs: int = MISSING
    steps: int = MISSING


@dataclass
class SampleSettings:
    count: int = MISSING
    per_class: int = MISSING
    classes: list[Any] | None = MISSING  # class names or label indices


@dataclass
class ReconstructionSettings:
    per_class: int = MISSING


@dataclass
class FactorMetricsSettings:
    """The YAML face of vae_lightning.analysis.disentanglement.settings.FactorMetricSettings, plus `compute`."""

    compute: bool | str = MISSING  # auto | true | false
    mig_num_train: int = MISSING
    mig_num_bins: int = MISSING
    dci_num_train: int = MISSING
    dci_num_test: int = MISSING
    dci_model: str = MISSING
    dci_jobs: int = MISSING
    sap_num_train: int = MISSING
    sap_num_test: int = MISSING
    factor_vae_batch_size: int = MISSING
    factor_vae_num_train: int = MISSING
    factor_vae_num_eval: int = MISSING
    factor_vae_num_variance_estimate: int = MISSING
    beta_vae_batch_size: int = MISSING
    beta_vae_num_train: int = MISSING
    beta_vae_num_eval: int = MISSING
    encode_batch_size: int = MISSING
    encode_whole_grid: bool = MISSING
    max_grid_size: int = MISSING


@dataclass
class SampleQualitySettings:
    compute: bool | str = MISSING  # auto | true | false
    num_samples: int = MISSING
    batch_size: int = MISSING
    bootstrap_resamples: int = MISSING
    knn_k: int = MISSING
    cache_dir: str | None = MISSING


@dataclass
class LatentMapSettings:
    tsne: bool = MISSING
    tsne_max_points: int = MISSING


@dataclass
class AnalyzeSettings(RestoreSettings):
    """conf/analyze.yaml."""

    run: str = MISSING
    precision: str = MISSING  # auto | bf16-mixed | 32-true
    iwae: IWAESettings = field(default_factory=IWAESettings)
    active_units: ActiveUnitsSettings = field(default_factory=ActiveUnitsSettings)
    probes: ProbeSettings = field(default_factory=ProbeSettings)
    traversal: TraversalSettings = field(default_factory=TraversalSettings)
    interpolation: InterpolationSettings = field(default_factory=InterpolationSettings)
    samples: SampleSettings = field(default_factory=SampleSettings)
    reconstructions: ReconstructionSettings = field(default_factory=ReconstructionSettings)
    factor_metrics: FactorMetricsSettings = field(default_factory=FactorMetricsSettings)
    latent_map: LatentMapSettings = field(default_factory=LatentMapSettings)
    sample_quality: SampleQualitySettings = field(default_factory=SampleQualitySettings)


@dataclass
class FeaturesSettings:
    """conf/features.yaml."""

    data: Any = MISSING
    seed: int = MISSING
    cache_dir: str | None = MISSING
    retrain: bool = MISSING
    device: str = MISSING  # auto | cpu | cuda
    threads: int | None = MISSING


@dataclass
class ReportTraversal:
    dims: int = MISSING
    range: float = MISSING
    steps: int = MISSING


@dataclass
class ReportCount:
    count: int = MISSING


@dataclass
class HParamsSettings:
    file_suffix: str = MISSING
    exclude: list[str] = MISSING


@dataclass
class ReportAxis:
    """The config key a sweep varies: the x of every table and plot of the report."""

    axis: str = MISSING


@dataclass
class ReportSettings(RestoreSettings):
    """conf/report.yaml."""

    report: ReportAxis = field(default_factory=ReportAxis)
    sweep: str = MISSING
    analyze_missing: bool = MISSING
    analysis: list[str] = MISSING  # analyze.yaml overrides, key=value
    traversal: ReportTraversal = field(default_factory=ReportTraversal)
    samples: ReportCount = field(default_factory=ReportCount)
    reconstructions: ReportCount = field(default_factory=ReportCount)
    hparams: HParamsSettings = field(default_factory=HParamsSettings)


def train_schema() -> DictConfig:
    """TrainSettings with its trainer node open: any other Trainer argument may be added there (in an experiment's
    YAML, or +trainer.gradient_clip_val=1.0), and is checked against the Trainer's signature before the run."""
    schema = OmegaConf.structured(TrainSettings)
    OmegaConf.set_struct(schema.trainer, False)
    return schema


store = ConfigStore.instance()
store.store(name="train_schema", node=train_schema())
store.store(name="analyze_schema", node=AnalyzeSettings)
store.store(name="report_schema", node=ReportSettings)
store.store(name="features_schema", node=FeaturesSettings)
