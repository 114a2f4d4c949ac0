"""What a person sees, line by line: the KL-per-dimension line of the closing summary, train.log's copy of a
redrawn progress line, the epoch count, the busy-cores warning and the TensorBoard hint."""

import io
from types import SimpleNamespace

from vae_lightning.cli.console import busy_cores_warning, epoch_label, kl_per_dim_line, tensorboard_hint
from vae_lightning.cli.console_copy import _Copy


def test_kl_per_dimension_is_one_line_largest_first():
    line = kl_per_dim_line([0.1, 2.5, 0.0, 1.25] + [0.01] * 28)
    assert line.startswith("KL per dimension (nats, largest first): z1 2.50, z3 1.25, z0 0.10, z4 0.01")
    assert line.endswith("24 more with 0.23 together") and "\n" not in line


def test_train_log_keeps_the_last_state_of_a_redrawn_line_without_escape_codes():
    log = io.StringIO()
    copy = _Copy(io.StringIO(), log)
    copy.write("Epoch 0:  50%|#  | 1/2\rEpoch 0: 100%|## | 2/2 loss=3.0\n\rValidation: 1/2\x1b[A\n\x1b[A\r    \rdone\n")
    assert log.getvalue() == "Epoch 0: 100%|## | 2/2 loss=3.0\ndone\n"


def test_epochs_are_counted_from_one_with_the_budget_when_there_is_one():
    assert epoch_label(SimpleNamespace(current_epoch=0, max_epochs=2)) == "epoch 1/2"
    assert epoch_label(SimpleNamespace(current_epoch=4, max_epochs=-1)) == "epoch 5"


def test_more_threads_than_free_cores_is_one_warning_line_with_the_fix():
    warning = busy_cores_warning(threads=2, cores=2, free=0, load=3.9)
    assert warning.startswith("Warning: 2 CPU threads, but only 0 of this machine's 2 cores are free (load average "
                              "3.9)")
    assert "threads=1" in warning and "\n" not in warning
    assert busy_cores_warning(threads=2, cores=8, free=3, load=4.6) is None
    assert busy_cores_warning(threads=1, cores=2, free=0, load=5.0) is None  # nothing fewer to suggest


def test_the_tensorboard_hint_is_a_command_to_copy(tmp_path):
    run_dir = tmp_path / "my runs" / "model.beta=4,seed=1"
    assert tensorboard_hint(run_dir).splitlines()[-1] == f"  tensorboard --logdir '{run_dir}'"  # quoted: a space
