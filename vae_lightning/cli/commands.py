"""Commands printed for the user to paste: continue a run, rerun what a sweep is missing. Quoted twice over — for
Hydra's override grammar (sweep folders hold `,` and `=`) and for the shell."""

import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.errors import ConfigCompositionException, OverrideParseException

from vae_lightning.cli.console import silence_uninformative_messages
from vae_lightning.config.messages import composition_error
from vae_lightning.errors import exit_with

PLAIN_PATH = re.compile(r"[\w./:~-]+")
# Hydra overrides a sweep rerun leaves out: it sets hydra.sweep.dir itself, -m implies hydra.mode, and the run guard
# adds the exclude_keys override to every sweep again (naming each point's folder by its swept keys only).
NOT_REPEATED = ("hydra.sweep.dir", "hydra.mode", "hydra.job.config.override_dirname.exclude_keys")


def hydra_path(path: Path) -> str:
    """`path` as a Hydra override value: quoted when it holds characters the grammar reads (`,` `=` spaces …)."""
    text = str(path)
    if PLAIN_PATH.fullmatch(text):
        return text
    # Inside quotes Hydra reads a backslash as an escape only before a quote or at the end of the value.
    escaped = re.sub(r"(\\*)'", lambda match: match.group(1) * 2 + "\\'", text)
    return "'" + re.sub(r"(\\+)$", lambda match: match.group(1) * 2, escaped) + "'"


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


def shell_command(module: str, arguments: Sequence[str]) -> str:
    """`python -m <module> <arguments>`, quoted so that it can be pasted into a shell as it is."""
    return shlex.join(["python", "-m", module, *arguments])


def resume_command(task_overrides: Sequence[str], run_dir: Path) -> str:
    """The command that continues the run in `run_dir`: its own overrides plus resume=<run dir>."""
    kept = [override for override in task_overrides if not override.startswith(("resume=", "redo="))]
    return shell_command("vae_lightning.train", [*kept, f"resume={hydra_path(run_dir)}"])


def rerun_sweep_command(sweep_dir: Path, hydra_overrides: Sequence[str], task_overrides: Sequence[str]) -> str:
    """The original multirun into the same folder; train skips the points that already finished. Other `hydra.*`
    overrides of the original (a launcher, a subdir pattern) are kept, since they decide where the points go."""
    kept_hydra = [o for o in hydra_overrides if o.split("=", 1)[0] not in NOT_REPEATED]
    return shell_command(
        "vae_lightning.train", ["-m", f"hydra.sweep.dir={hydra_path(sweep_dir)}", *kept_hydra, *task_overrides]
    )
