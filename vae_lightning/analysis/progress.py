"""What a long analysis shows while it runs: one line as each phase starts, a bar inside the long ones on a terminal,
and each phase's time kept for metrics.json and the closing digest."""

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")


def progress_bar(items: Iterable[Item], description: str, total: int | None = None) -> Iterable[Item]:
    """`items` with a bar on a terminal (stderr), and nothing in a log or a pipe, where the phase's line says enough
    and a bar would only write carriage returns into the file."""
    return tqdm(items, desc=description, total=total, disable=None, leave=False, file=sys.stderr, dynamic_ncols=True)


class PhaseClock:
    """Announces each phase on its own line and measures it: wall seconds, and the CPU seconds of this process,
    which a busy machine inflates far less than the wall time (benchmarks/analysis_timing.py prints both)."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {}

    @contextmanager
    def __call__(self, phase: str, detail: str = "") -> Iterator[None]:
        """Time the block as `phase`; `detail` (the sample sizes) is printed beside the phase's name."""
        print(f"  {phase}{f' ({detail})' if detail else ''} …", flush=True)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[phase] = {"wall": round(time.perf_counter() - wall, 2),
                                   "cpu": round(time.process_time() - cpu, 2)}

    def total(self) -> float:
        """Wall seconds of every phase so far."""
        return sum(phase["wall"] for phase in self.seconds.values())
