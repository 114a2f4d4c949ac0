"""Keep freed memory in the process instead of handing it back to the kernel after every large tensor.

The analysis allocates and frees tens of megabytes per batch (the IWAE's decoded draws, the feature network's
activations). glibc serves blocks of that size with a fresh `mmap` and unmaps them on `free`, so every batch faults
its pages in again: on the default MNIST analysis that was 3–6 of its ~50 CPU seconds in the kernel, against
1.4 with the memory kept (docs/performance.md). The cost is that the process keeps up to `KEPT_BYTES` it no longer
uses until it exits, which a short-lived command can afford.
"""

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
KEPT_BYTES = 1 << 30  # blocks below this come from the heap, and the heap is trimmed only above it


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds to `KEPT_BYTES` for this process; whether it applied (it does
    nothing on another C library or operating system)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(parameter, KEPT_BYTES) == 1 for parameter in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD))
