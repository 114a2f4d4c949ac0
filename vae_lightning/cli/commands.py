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
from vae_lightning.errors import exit_with
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


def run_cli(main: Callable[[], Any], path_keys: Sequence[str], config_name: str) -> None:
    """Call a `hydra.main` entry point after quoting the path arguments of `path_keys` (see quote_existing_paths),
    with Lightning's uninformative messages silenced from the first Trainer on (see vae_lightning.cli.console).

    A command line Hydra cannot compose into the config gets the project's one-paragraph message, built from the
    error's cause (see vae_lightning.config.messages). Hydra prints its errors itself and exits unless
    HYDRA_FULL_ERROR (its documented switch) is set, which is the only way to receive the exception object; so it is
    set here when the user has not set it. A user who sets it keeps Hydra's own handling and full tracebacks.
    """
    silence_uninformative_messages()
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


