"""Keep Lightning from calling hooks that do nothing at every training batch.

At every training batch Lightning calls the six per-batch hooks below on the LightningModule and on every callback,
also where the class keeps Lightning's empty default. Each call costs a hook lookup, a profiler context and two
attribute writes on the module, 5–10 µs of host time, so the run's ten callbacks and the module cost about 0.4 ms per
step (benchmarks/step_overhead.py): as much as a GPU step of the default model. Lightning calls a hook only when it
is callable, so an instance attribute None in place of an empty default removes the call and nothing else; a class
that overrides a hook keeps it, and `super()` still reaches the default.
"""

from typing import TypeVar

PER_BATCH_HOOKS = ("on_train_batch_start", "on_before_backward", "on_after_backward", "on_before_optimizer_step",
                   "on_before_zero_grad", "on_train_batch_end")

Hooked = TypeVar("Hooked")


def skip_empty_batch_hooks(hooked: Hooked, default: type) -> Hooked:
    """`hooked` (a Callback or LightningModule) with the per-batch hooks its class inherits unchanged from `default`
    (`L.Callback`, `L.LightningModule`) set to None."""
    for hook in PER_BATCH_HOOKS:
        if getattr(type(hooked), hook) is getattr(default, hook):
            setattr(hooked, hook, None)
    return hooked
