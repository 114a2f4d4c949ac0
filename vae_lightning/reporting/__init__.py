"""The sweep report along its axis (β, or any `report.axis`): collect the runs of a multirun, tabulate and plot them,
and log them for TensorBoard."""
