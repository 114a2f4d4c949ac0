"""The report's numbers as TensorBoard scalars plotted against the swept value: TensorBoard's x-axis is a step, so
each value of the axis is a step, its index in increasing order (β 0.5, 1, 4 at steps 0, 1, 2), and every card's
description says which value each step is."""

from collections.abc import Iterable, Sequence
from typing import Any

from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.scalar.metadata import create_summary_metadata
from torch.utils.tensorboard import SummaryWriter

from vae_lightning.reporting.aggregate import by_axis, settings
from vae_lightning.reporting.axis import SweepAxis

TAG_PREFIX = "report/"


def axis_steps(values: Iterable[float | None]) -> dict[float, int]:
    """Each distinct axis value and its step: its index in increasing order."""
    return {value: step for step, value in enumerate(sorted({value for value in values if value is not None}))}


def steps_description(axis: SweepAxis, steps: dict[float, int]) -> str:
    """What the x-axis means, for the card's description: `step = index of β: 0 is β = 0.5, 1 is β = 1, …`."""
    listed = ", ".join(f"{step} is {axis.label} = {value:g}" for value, step in steps.items())
    return f"x-axis: the step is the index of {axis.label} in the sweep, not a training step ({listed})."


def add_described_scalar(writer: SummaryWriter, tag: str, value: float, step: int, description: str) -> None:
    """A scalar whose card carries `description` (TensorBoard reads it from the tag's first event)."""
    metadata = create_summary_metadata(display_name=tag, description=description)
    writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, simple_value=float(value),
                                                                metadata=metadata)]), global_step=step)


def write_curves(writer: SummaryWriter, rows: list[dict[str, Any]], axis: SweepAxis, columns: Sequence[str]) -> None:
    """For the report's own TensorBoard run: each column's mean over seeds at every axis value, one curve per
    setting (the other swept values), under the tags the runs' own points use, so a card shows the points of every
    run and the curve through them."""
    steps = axis_steps(row["axis_value"] for row in rows)
    description = steps_description(axis, steps)
    shown = settings(rows)
    for column in columns:
        for setting in shown:
            tag = f"{TAG_PREFIX}{column}" + (f" ({setting})" if len(shown) > 1 else "")
            for value, spread in by_axis(rows, column, setting).items():
                add_described_scalar(writer, tag, spread.mean, steps[value], description)
