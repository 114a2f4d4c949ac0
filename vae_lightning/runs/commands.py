"""Commands printed for the user to paste: continue a run, rerun what a sweep is missing. Quoted twice over — for
Hydra's override grammar (sweep folders hold `,` and `=`) and for the shell."""

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

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
