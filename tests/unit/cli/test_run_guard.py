"""The end-of-sweep check: a garbage or empty failure.json is listed as a failed point and the sweep exits non-zero
(README "Reliability")."""

import pytest
from omegaconf import OmegaConf

from tests.report_helpers import make_run
from vae_lightning.cli.run_guard import RunGuard


def test_end_of_sweep_check_lists_a_garbage_failure_json_and_exits_non_zero(tmp_path, capsys):
    make_run(tmp_path / "a", beta=1, seed=0, status="failed")
    (tmp_path / "a" / "failure.json").write_text("\x00 garbage")
    make_run(tmp_path / "b", beta=2, seed=0, status="failed")
    (tmp_path / "b" / "failure.json").write_text('{"error": ""}')
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)},
                                         "overrides": {"hydra": [], "task": ["model.beta=1,2"]}}})
    with pytest.raises(SystemExit) as stopped:
        RunGuard().on_multirun_end(config)
    assert stopped.value.code == 1
    listing = capsys.readouterr().err
    assert "2 sweep point(s) failed" in listing
    assert listing.count("failure.json is damaged or holds no error message") == 2
