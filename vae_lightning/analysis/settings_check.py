"""The numbers of analyze.yaml and report.yaml checked against their ranges before a checkpoint is opened: a bad value
is one paragraph naming the key and what it may be, not an exception from deep inside torch or scikit-learn minutes
into the job (`threads=-2` used to end in torch's RuntimeError)."""

from collections.abc import Mapping
from typing import NamedTuple

from omegaconf import DictConfig, OmegaConf

from vae_lightning.errors import ConfigError


class Allowed(NamedTuple):
    """A setting's range: at least `smallest` (more than it when `exclusive`), and null when `null_means` says what
    null does. An integer `smallest` asks for an integer."""

    smallest: float
    null_means: str | None = None
    exclusive: bool = False


# Factor-metric sample sizes are checked by FactorMetricSettings.
THREADS = {"threads": Allowed(1, "torch's default, all cores")}
ANALYZE_RANGES: Mapping[str, Allowed] = {
    **THREADS,
    "data.eval_batch_size": Allowed(1),
    "iwae.num_samples": Allowed(1),
    "iwae.num_images": Allowed(1, "the whole test split"),
    "iwae.batch_size": Allowed(1),
    "iwae.precision_check_images": Allowed(1),
    "iwae.convergence.num_images": Allowed(1),
    "active_units.threshold": Allowed(0.0),
    "probes.max_train_images": Allowed(2, "the whole training split"),
    "probes.knn_k": Allowed(1),
    "probes.informative_kl": Allowed(0.0),
    "traversal.range": Allowed(0.0, exclusive=True),
    "traversal.steps": Allowed(2),
    "traversal.num_base_images": Allowed(1),
    "traversal.grid_dims": Allowed(1),
    "traversal.animation_dims": Allowed(1),
    "interpolation.num_pairs": Allowed(1),
    "interpolation.steps": Allowed(2),
    "samples.count": Allowed(1),
    "samples.per_class": Allowed(1),
    "reconstructions.per_class": Allowed(1),
    "latent_map.tsne_max_points": Allowed(2),
}
REPORT_RANGES: Mapping[str, Allowed] = {
    **THREADS,
    "data.eval_batch_size": Allowed(1),
    "traversal.dims": Allowed(1),
    "traversal.range": Allowed(0.0, exclusive=True),
    "traversal.steps": Allowed(2),
    "samples.count": Allowed(1),
    "reconstructions.count": Allowed(1),
}


def check_ranges(cfg: DictConfig, ranges: Mapping[str, Allowed], config_name: str) -> None:
    """Raise ConfigError for the first key of `ranges` whose value in `cfg` is out of its range; `config_name` names
    the file that describes every setting."""
    for key, allowed in ranges.items():
        value = OmegaConf.select(cfg, key)
        if value is None and allowed.null_means is not None:
            continue
        if not _within(value, allowed):
            raise ConfigError(f"{key}={value} is not allowed: it must be {_describe(allowed)}. "
                              f"Every setting is described in vae_lightning/conf/{config_name}.")
    if OmegaConf.select(cfg, "iwae.convergence.num_samples") is not None:
        _check_convergence_ks(list(cfg.iwae.convergence.num_samples), cfg.iwae.num_samples)


def _within(value: object, allowed: Allowed) -> bool:
    wanted = float if isinstance(allowed.smallest, float) else int
    if isinstance(value, bool) or not isinstance(value, wanted | int):
        return False
    return value > allowed.smallest if allowed.exclusive else value >= allowed.smallest


def _describe(allowed: Allowed) -> str:
    kind = "a number" if isinstance(allowed.smallest, float) else "an integer"
    bound = f"{kind} {'>' if allowed.exclusive else '≥'} {allowed.smallest:g}"
    return f"{bound}, or null ({allowed.null_means})" if allowed.null_means else bound


def _check_convergence_ks(ks: list[int], num_samples: int) -> None:
    """The K-convergence check needs at least one K, each ≥ 1."""
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise ConfigError(f"iwae.convergence.num_samples={ks} is not allowed: it must be a non-empty list of integers "
                          f"≥ 1, e.g. [1, 10, {num_samples}, {10 * num_samples}].")
