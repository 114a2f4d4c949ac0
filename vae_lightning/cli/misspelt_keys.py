"""The project's own message for a key the config does not have (`model.bta=4`), in place of Hydra's advice to
add it with `+`: what was meant, and which settings exist there."""

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, HydraException
from omegaconf import DictConfig, OmegaConf

CONFIG_DIR = Path(__file__).parents[1] / "conf"
UNKNOWN_KEY = re.compile(r"Could not override '([^']+)'")


def unknown_key(error: ConfigCompositionException) -> str | None:
    """The key a composition error says does not exist in the config, or None for any other composition error."""
    match = UNKNOWN_KEY.match(str(error))
    return match.group(1) if match else None


def misspelt_key_message(key: str, config_name: str, arguments: Sequence[str]) -> str:
    """"`key` is not a setting (a misspelling?)", the closest existing key, and the settings beside it, read from
    the config composed with the command line's other plain overrides (a group choice changes the keys)."""
    parent, _, leaf = key.rpartition(".")
    config = _compose_without(key, config_name, arguments)
    node = OmegaConf.select(config, parent) if parent and config is not None else config
    settings = sorted(str(name) for name in node if name != "hydra") if isinstance(node, DictConfig) else []
    prefix = f"{parent}." if parent else ""
    closest = difflib.get_close_matches(leaf, settings, n=1)
    meant = f" Did you mean {prefix}{closest[0]}?" if closest else ""
    listing = f" The settings {f'of {parent} ' if parent else ''}are: {', '.join(settings)}." if settings else ""
    return (f"{key} is not a setting (a misspelling?).{meant}{listing} "
            f"`python -m vae_lightning.{config_name} --cfg job` prints every setting.")


def _compose_without(key: str, config_name: str, arguments: Sequence[str]) -> DictConfig | None:
    overrides = []
    for argument in arguments:
        try:
            (override,) = OverridesParser.create().parse_overrides([argument])
        except HydraException:  # a flag such as -m or --cfg, or text Hydra has already refused
            continue
        name = override.key_or_group
        if name != key and not name.startswith(("hydra.", "hydra/")) and not override.is_sweep_override():
            overrides.append(argument)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name, overrides=overrides)
    except HydraException:
        return None
