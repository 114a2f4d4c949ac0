"""Leave a distributed process group before the interpreter exits.

Lightning opens a gloo or NCCL group for `trainer=ddp` and destroys it at exit only for NCCL. A gloo group still
alive at interpreter exit leaves its worker threads to C++ static destruction, which can abort the process
(`terminate called without an active exception`) after the run has finished and written everything: the job then
exits with SIGABRT and a scheduler or a sweep reads the run as failed.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch.distributed as dist


@contextmanager
def process_group_released() -> Iterator[None]:
    """Destroy the default process group, if the block opened one, when the block ends (also on an error)."""
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
