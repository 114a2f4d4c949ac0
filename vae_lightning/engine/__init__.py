"""The training loop's concerns, apart from any model's maths: precision, running means of evaluation terms, and
the hooks Lightning need not call."""
