"""What a person sees, line by line: the KL-per-dimension line of the closing summary and train.log's copy of a
redrawn progress line."""

import io

from vae_lightning.cli.console import kl_per_dim_line
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
