"""Errors that reach the user as one readable paragraph instead of a traceback.

Entry points catch `VAELightningError` and hand it to `exit_with`; everything else is a bug and keeps its traceback.
"""

import sys
from typing import NoReturn


def exit_with(error: "VAELightningError") -> NoReturn:
    """Print the error as one paragraph on stderr and exit with status 2, the convention of every entry point."""
    print(f"\nError: {error}", file=sys.stderr)
    sys.exit(2)


class VAELightningError(Exception):
    """A problem the user can fix; the message names the input and the fix."""


class ConfigError(VAELightningError):
    """A configuration value is out of its allowed range or inconsistent with another."""


class DataError(VAELightningError):
    """Data could not be found, or a data file is missing, truncated or corrupt."""


class CheckpointError(VAELightningError):
    """A checkpoint path is wrong, or the file is not a safe, readable vae_lightning checkpoint."""


class TrainingDivergedError(VAELightningError):
    """The loss stopped being finite; training stops before a damaged state can be saved."""


class StorageError(VAELightningError):
    """An output file could not be written (a full disk, a quota, permissions); what was written before is intact."""


class RunInUseError(VAELightningError):
    """Another process is training into the same run directory; starting a second would mix their files."""


class RunRefusedError(VAELightningError):
    """The command was refused before it changed the run directory (other settings than the run's, a damaged
    checkpoint): the run's files, a finished run's results included, stay as they were."""


class PreemptedError(VAELightningError):
    """The run was asked to stop (SIGTERM: a cluster's preemption or time limit); it can be continued."""
