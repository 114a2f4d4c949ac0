"""Running an entry point: path arguments quoted for Hydra, Lightning's noise silenced, composition errors turned into
the project's one-paragraph messages."""

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.errors import ConfigCompositionException, OverrideParseException

from vae_lightning.cli.console import silence_uninformative_messages
from vae_lightning.config.messages import composition_error
from vae_lightning.errors import ConfigError, exit_with
from vae_lightning.runs.commands import PLAIN_PATH, hydra_path


def quote_existing_paths(arguments: Sequence[str], keys: Sequence[str]) -> list[str]:
    """Command-line arguments with each unquoted `key=value` of `keys` quoted for Hydra when the value is an
    existing path its grammar would misread, so a sweep point's folder (`.../model.beta=4`) can be pasted as it is."""
    quoted = []
    for argument in arguments:
        key, sep, value = argument.partition("=")
        if sep and key in keys and value[:1] not in ("'", '"') and not PLAIN_PATH.fullmatch(value) \
                and Path(value).expanduser().exists():
            argument = f"{key}={hydra_path(Path(value))}"
        quoted.append(argument)
    return quoted


# Hydra's command-line flags, of which it runs one at a time (short and long spellings).
HYDRA_MODES = {"-r": "--run", "--run": "--run", "-m": "--multirun", "--multirun": "--multirun", "-c": "--cfg",
               "--cfg": "--cfg", "-i": "--info", "--info": "--info", "-sc": "--shell-completion",
               "--shell-completion": "--shell-completion"}


def refuse_combined_modes(arguments: Sequence[str], config_name: str) -> None:
    """Hydra runs one of --run, --multirun, --cfg, --info and --shell-completion, and answers two of them with a
    ValueError traceback; say instead which two were given and how to see a sweep's settings."""
    given = list(dict.fromkeys(HYDRA_MODES[flag] for argument in arguments
                               if (flag := argument.partition("=")[0]) in HYDRA_MODES))
    if len(given) < 2:
        return
    hint = (" To see a sweep's settings, print those of one of its points: drop -m and give each swept key one value "
            f"(python -m vae_lightning.{config_name} model.beta=4 --cfg job; --cfg hydra shows hydra.sweep too)."
            if "--multirun" in given and "--cfg" in given else "")
    exit_with(ConfigError(f"{' and '.join(given)} cannot be used together: Hydra runs one of --run, --multirun, --cfg, "
                          f"--info and --shell-completion per command.{hint}"))


def run_cli(main: Callable[[], Any], path_keys: Sequence[str], config_name: str) -> None:
    """Call a `hydra.main` entry point after quoting the path arguments of `path_keys` (see quote_existing_paths),
    with Lightning's uninformative messages silenced from the first Trainer on (see vae_lightning.cli.console).

    A command line Hydra cannot compose into the config gets the project's one-paragraph message, built from the
    error's cause (see vae_lightning.config.messages). Hydra prints its errors itself and exits unless
    HYDRA_FULL_ERROR (its documented switch) is set, which is the only way to receive the exception object; so it is
    set here when the user has not set it. A user who sets it keeps Hydra's own handling and full tracebacks.
    """
    silence_uninformative_messages()
    refuse_combined_modes(sys.argv[1:], config_name)
    sys.argv[1:] = quote_existing_paths(sys.argv[1:], path_keys)
    if "HYDRA_FULL_ERROR" in os.environ:
        main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        main()
    except ConfigCompositionException as error:
        message = composition_error(error, f"vae_lightning.{config_name}")
        if message is None:
            print(f"Error: {error}", file=sys.stderr)
            sys.exit(1)
        exit_with(message)
    except OverrideParseException as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)


