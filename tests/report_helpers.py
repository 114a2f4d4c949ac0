"""Hand-made run folders in train's layout, and a reader of what TensorBoard's HParams dashboard would show."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups


def make_run(
    folder: Path,
    beta: float,
    seed: int,
    status: str = "finished",
    overrides: list[str] | None = None,
    neg_elbo: float = 100.0,
    kl: float = 10.0,
    analysis: dict[str, Any] | None = None,
) -> Path:
    """A run folder as train leaves it: `.hydra/`, plus metrics.json (finished) or failure.json (failed)."""
    hydra_dir = folder / ".hydra"
    hydra_dir.mkdir(parents=True)
    config = {"model": {"beta": beta, "latent_dim": 4}, "seed": seed, "data": {"name": "fashion"}}
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(config))
    default_overrides = [f"model.beta={beta}", f"seed={seed}"]
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(default_overrides if overrides is None else overrides))
    if status == "finished":
        metrics = {
            "test": {"neg_elbo": neg_elbo, "recon": neg_elbo - kl, "kl": kl, "loss": neg_elbo},
            "test_kl_per_dim": [kl, 0.0, 0.0, 0.0],
            "fit_seconds": 1.5,
            "seed": seed,
        }
        (folder / "metrics.json").write_text(json.dumps(metrics))
    elif status == "failed":
        (folder / "failure.json").write_text(
            json.dumps({"error": "the loss became NaN at step 3", "error_type": "FloatingPointError"})
        )
    if analysis is not None:
        (folder / "analysis").mkdir()
        (folder / "analysis" / "metrics.json").write_text(json.dumps(analysis))
    return folder


# A damaged file of a run folder, by what is wrong with it: (its path in the folder, its content).
GARBAGE = {
    "truncated metrics.json": ("metrics.json", '{"test": {"neg_elbo": 1'),
    "empty metrics.json": ("metrics.json", ""),
    "metrics.json holding a list": ("metrics.json", "[1, 2]"),
    "garbage failure.json": ("failure.json", "\x00\x01 not json"),
    "failure.json without an error": ("failure.json", "{}"),
    "bad config.yaml": (".hydra/config.yaml", "model: [unclosed"),
    # Well-formed JSON or YAML of the wrong shape (issue 26, item 9).
    "metrics.json holding {}": ("metrics.json", "{}"),
    "test results that are a string": ("metrics.json", '{"test": "oops"}'),
    "a NaN in metrics.json": ("metrics.json", '{"test": {"neg_elbo": NaN, "loss": 1.0}, "test_kl_per_dim": [1.0]}'),
    "a β that is not a number": (".hydra/config.yaml", "model: {beta: abc, latent_dim: 4}\nseed: 0\n"),
}


def damaged_sweep(root: Path) -> Path:
    """A sweep folder with one good run, `good`, and one run per entry of GARBAGE, `point<i>`, holding that damage."""
    make_run(root / "good", beta=1, seed=0)
    for index, (relative, content) in enumerate(GARBAGE.values()):
        folder = make_run(root / f"point{index}", beta=2 + index, seed=0,
                          status="failed" if relative == "failure.json" else "finished")
        (folder / relative).write_text(content)
    return root


def copy_run_as_beta(source: Path, destination: Path, beta: float) -> Path:
    """A copy of a run folder that says it was trained with `beta`: a stand-in for one more finished point."""
    shutil.copytree(source, destination)
    config = yaml.safe_load((destination / ".hydra" / "config.yaml").read_text())
    config["model"]["beta"] = beta
    (destination / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    overrides = yaml.safe_load((destination / ".hydra" / "overrides.yaml").read_text())
    overrides = [f"model.beta={beta:g}" if item.startswith("model.beta=") else item for item in overrides]
    (destination / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return destination


def write_multirun_yaml(sweep: Path, task: list[str], hydra: list[str] | None = None) -> None:
    """The part of Hydra's multirun.yaml the report reads: the sweep's command-line overrides."""
    sweep.mkdir(parents=True, exist_ok=True)
    hydra_overrides = [f"hydra.sweep.dir={sweep}", "hydra.mode=MULTIRUN", *(hydra or [])]
    (sweep / "multirun.yaml").write_text(
        yaml.safe_dump({"hydra": {"overrides": {"hydra": hydra_overrides, "task": task}}})
    )


def hparams_dashboard(logdir: Path) -> dict[str, dict[str, Any]]:
    """Per session (its run folder relative to `logdir`): its hyper-parameters and metric values, as listed by the
    HParams plugin's own backend for `tensorboard --logdir <logdir>`."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    backend = backend_context.Context(
        SimpleNamespace(data_provider=provider, multiplexer=multiplexer, logdir=str(logdir), plugin_name_to_instance={})
    )
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=1000, allowed_statuses=[api_pb2.STATUS_SUCCESS, api_pb2.STATUS_UNKNOWN]
    )
    response = list_session_groups.Handler(context.RequestContext(), backend, "", request).run()
    return {
        group.name: {
            "hparams": {name: _value(value) for name, value in group.hparams.items()},
            "metrics": {metric.name.tag: metric.value for metric in group.metric_values},
        }
        for group in response.session_groups
    }


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("kind"))


def make_run_with_model(folder: Path, model: dict[str, Any], seed: int, overrides: list[str], **numbers: Any) -> Path:
    """A run as make_run leaves it whose config's model settings are `model` (and a 4-d latent): a FactorVAE's γ, or a
    model with no β at all."""
    make_run(folder, beta=0.0, seed=seed, overrides=overrides, **numbers)
    config_path = folder / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["model"] = {**model, "latent_dim": 4}
    config_path.write_text(yaml.safe_dump(config))
    return folder
