"""The end-of-sweep check: a garbage or empty failure.json is listed as a failed point and the sweep exits non-zero;
points that refused the command are listed apart, not as failed (README "Reliability"); an output folder whose name
the filesystem cannot hold is refused before anything is made."""

import pytest
from omegaconf import OmegaConf

from tests.report_helpers import make_run
from vae_lightning.cli import run_guard
from vae_lightning.cli.run_guard import RunGuard, ensure_writable, note_refusal
from vae_lightning.errors import CheckpointError, ConfigError


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


def test_refused_points_are_listed_apart_and_not_counted_failed(tmp_path, capsys, monkeypatch):
    for index, beta in enumerate((1, 2)):
        make_run(tmp_path / f"p{index}", beta=beta, seed=0)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)},
                                         "overrides": {"hydra": [], "task": ["model.beta=1,2"]}}})
    monkeypatch.setattr(run_guard, "_refused", [])  # what on_multirun_start clears
    for index in (0, 1):
        note_refusal(tmp_path / f"p{index}", CheckpointError("trained with 1 CPU thread(s), not 2"))
    with pytest.raises(SystemExit) as stopped:
        RunGuard().on_multirun_end(config)
    listing = capsys.readouterr().err
    assert stopped.value.code == 1
    assert "2 sweep point(s) refused this command and were left as they were:\n  p0: trained with 1" in listing
    assert "failed" not in listing
    assert not list(tmp_path.rglob("failure.json"))


@pytest.mark.parametrize(("name", "message"), [
    ("x" * 300, "is 300 bytes long and this filesystem allows 255"),
    ("/".join(["y" * 250] * 17), "is too deep: the run's files below it would need paths of"),
])
def test_an_output_folder_name_the_filesystem_cannot_hold_is_refused_before_anything_is_made(tmp_path, name,
                                                                                             message):
    with pytest.raises(ConfigError, match=message):
        ensure_writable(tmp_path / name, "hydra.run.dir")
    assert list(tmp_path.iterdir()) == []
