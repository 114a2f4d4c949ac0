"""What a long analysis shows while it runs: one line as each phase starts, a bar inside the long ones on a terminal
and a plain line every tenth of them in a log, and each phase's time kept for metrics.json and the closing digest."""

import sys
import time
from collections.abc import Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")


def progress_bar(items: Iterable[Item], description: str, total: int | None = None) -> Iterable[Item]:
    """The batches `items` with a bar on a terminal (stderr); in a log or a pipe, where a redrawn bar would only write
    carriage returns into the file, a plain line every tenth of `total` (by default `len(items)`), at most one per 10 s,
    instead, so a long phase under SLURM or in a benchmark's log still shows that it moves and when it will end."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    if sys.stderr.isatty():
        return tqdm(items, desc=description, total=total, leave=False, file=sys.stderr, dynamic_ncols=True)
    return items if not total else lines_every_tenth(items, description, total)


def lines_every_tenth(items: Iterable[Item], description: str, total: int, lines: int = 10,
                      min_seconds: float = 10.0) -> Iterator[Item]:
    """`items`, printing `description`, the share done, the rate and the time left each time another `1/lines` of
    the `total` batches has passed and at least `min_seconds` since the last line, so a phase of a few seconds, which
    its own line already announces, writes nothing more."""
    started = last_line = time.perf_counter()
    next_line_at = 1
    for done, item in enumerate(items, start=1):
        yield item
        if done * lines < next_line_at * total:
            continue
        next_line_at = done * lines // total + 1
        now = time.perf_counter()
        if now - last_line < min_seconds:
            continue
        last_line, elapsed = now, now - started
        rate, left = done / max(elapsed, 1e-9), elapsed * (total - done) / done
        print(f"    {description}  {100 * done // total:3d}% ({done}/{total} batches, {rate:.2f}/s, "
              f"{elapsed:.0f} s so far, about {left:.0f} s left)", flush=True)


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
