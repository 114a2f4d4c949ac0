"""The β-sweep report: collect the runs of a multirun, tabulate and plot them, and log them for TensorBoard."""
