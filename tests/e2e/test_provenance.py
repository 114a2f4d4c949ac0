"""Every number names what it was computed from, through the real CLI: a resume continues the same run (a moved
folder, a kill in the test step, a mid-epoch validation) or refuses other data and another precision, and the report
never shows an analysis of a checkpoint the run no longer has (issue 26 items 1-5, docs/reliability.md)."""

import json
import math
import shutil

import pytest

from tests.conftest import TINY_RUN, run_cli
from tests.data_helpers import write_idx_dataset
from vae_lightning.runs.checkpoint_files import load_checkpoint, written_mid_epoch

STEPS_PER_EPOCH = math.ceil(96 * 0.9 / 16)
THREE_EPOCHS = [*TINY_RUN, "trainer.max_epochs=3", "model.beta=2"]
MID_EPOCH_VALIDATION = "+trainer.val_check_interval=0.5"
ANALYSIS_SETTINGS = ["iwae.num_samples=3", "iwae.num_images=8", "traversal.num_base_images=1", "traversal.steps=3",
                     "traversal.grid_dims=2", "interpolation.num_pairs=1", "samples.count=4",
                     "reconstructions.per_class=1"]


def _fault(kind: str, marker, **options) -> list[str]:
    return [f"+callbacks.fault._target_=tests.fault_injection.{kind}", f"+callbacks.fault.marker={marker}",
            *(f"+callbacks.fault.{key}={value}" for key, value in options.items())]


def _kill_in_epoch_two(marker) -> list[str]:
    return _fault("SignalAtStep", marker, step=STEPS_PER_EPOCH + 4, signal_name="SIGKILL")


def _metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def _assert_same_test(metrics: dict, expected: dict) -> None:
    for key in ("neg_elbo", "recon", "kl", "loss"):
        assert metrics["test"][key] == pytest.approx(expected["test"][key], rel=1e-6, abs=1e-6), key
    assert metrics["test_kl_per_dim"] == pytest.approx(expected["test_kl_per_dim"], rel=1e-6, abs=1e-6)


@pytest.fixture(scope="module")
def uninterrupted(tiny_data_root, tmp_path_factory):
    """The 3-epoch run, and the same with a validation in the middle of every epoch, never stopped."""
    results = {}
    for name, extra in (("plain", []), ("mid_epoch", [MID_EPOCH_VALIDATION])):
        cwd = tmp_path_factory.mktemp(name)
        result = run_cli("vae_lightning.train", *THREE_EPOCHS, *extra, f"data.root={tiny_data_root}",
                         "hydra.run.dir=run", cwd=cwd)
        assert result.returncode == 0, result.stderr[-3000:]
        results[name] = _metrics(cwd / "run")
    return results


@pytest.mark.parametrize("relocate", [shutil.move, shutil.copytree], ids=["mv", "cp -r"])
def test_a_moved_or_copied_run_resumes_into_its_own_last_ckpt(relocate, uninterrupted, tiny_data_root, tmp_path):
    command = [*THREE_EPOCHS, f"data.root={tiny_data_root}", *_kill_in_epoch_two(tmp_path / "fired")]
    assert run_cli("vae_lightning.train", *command, "hydra.run.dir=a", cwd=tmp_path).returncode < 0
    relocate(tmp_path / "a", tmp_path / "b")
    resumed = run_cli("vae_lightning.train", *command, f"resume={tmp_path / 'b'}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    checkpoints = sorted(path.name for path in (tmp_path / "b" / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and checkpoints[1] == "last.ckpt", checkpoints  # one best, one last: no -v1
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.ckpt")["epoch"] == 2  # what checkpoint=last reads
    assert _metrics(tmp_path / "b")["checkpoint"] == f"checkpoints/{checkpoints[0]}"
    _assert_same_test(_metrics(tmp_path / "b"), uninterrupted["plain"])


def test_a_kill_in_the_test_step_resumes_to_the_uninterrupted_test(uninterrupted, tiny_data_root, tmp_path):
    command = [*THREE_EPOCHS, f"data.root={tiny_data_root}",
               *_fault("SignalInTest", tmp_path / "fired", batch=0, signal_name="SIGKILL")]
    killed = run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path)
    assert killed.returncode < 0 and (tmp_path / "fired").is_file()
    resumed = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_test(_metrics(tmp_path / "run"), uninterrupted["plain"])


def test_a_run_validating_mid_epoch_resumes_from_an_epoch_end_to_the_same_model(uninterrupted, tiny_data_root,
                                                                                tmp_path):
    command = [*THREE_EPOCHS, MID_EPOCH_VALIDATION, f"data.root={tiny_data_root}",
               *_kill_in_epoch_two(tmp_path / "fired")]  # killed after the validation half-way through epoch 2
    assert run_cli("vae_lightning.train", *command, "hydra.run.dir=run", cwd=tmp_path).returncode < 0
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert last["epoch"] == 0 and not written_mid_epoch(last)
    resumed = run_cli("vae_lightning.train", *command, "resume=run", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_test(_metrics(tmp_path / "run"), uninterrupted["mid_epoch"])


def test_a_resume_on_other_images_or_in_another_precision_is_refused_naming_both(tiny_data_root, tmp_path):
    command = [*THREE_EPOCHS, *_kill_in_epoch_two(tmp_path / "fired")]
    float32 = "trainer.precision=32-true"  # not `auto`, which is bf16-mixed on a CPU with bfloat16 units
    assert run_cli("vae_lightning.train", *command, float32, f"data.root={tiny_data_root}", "hydra.run.dir=run",
                   cwd=tmp_path).returncode < 0
    other = tmp_path / "other_data"
    write_idx_dataset(other, folder="FashionMNIST", n_train=96, n_test=32, seed=7)  # same layout, other images
    moved = run_cli("vae_lightning.train", *command, float32, f"data.root={other}", "resume=run", cwd=tmp_path)
    assert moved.returncode == 2, moved.stderr[-3000:]
    assert "trained on other images than this command reads" in moved.stderr and "Traceback" not in moved.stderr
    assert "train split: run " in moved.stderr and f"data.root={other}" in moved.stderr
    precision = run_cli("vae_lightning.train", *command, f"data.root={tiny_data_root}", "trainer.precision=bf16-mixed",
                        "resume=run", cwd=tmp_path)
    assert precision.returncode == 2, precision.stderr[-3000:]
    assert "trainer.precision=32-true and this command would continue it with bf16-mixed" in precision.stderr
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["epoch"] == 0  # nothing was trained


def test_report_analyses_again_when_the_best_checkpoint_changed_after_an_analysis(tiny_data_root, tmp_path):
    run_dir = tmp_path / "sweep" / "run"
    command = [*THREE_EPOCHS, f"data.root={tiny_data_root}", *_kill_in_epoch_two(tmp_path / "fired")]
    assert run_cli("vae_lightning.train", *command, f"hydra.run.dir={run_dir}", cwd=tmp_path).returncode < 0
    analysed = run_cli("vae_lightning.analyze", f"run={run_dir}", f"data.root={tiny_data_root}",
                       *ANALYSIS_SETTINGS, cwd=tmp_path)
    assert analysed.returncode == 0, analysed.stderr[-3000:]
    early = json.loads((run_dir / "analysis" / "metrics.json").read_text())
    assert early["checkpoint"].endswith("best-epoch000.ckpt")
    assert run_cli("vae_lightning.train", *command, f"resume={run_dir}", cwd=tmp_path).returncode == 0
    best = _metrics(run_dir)["checkpoint"]
    assert best != "checkpoints/best-epoch000.ckpt"  # training went on improving: epoch 0 is no longer the best

    as_report_setting = "analysis=[" + ",".join(f'"{setting}"' for setting in ANALYSIS_SETTINGS) + "]"
    report = run_cli("vae_lightning.report", f"sweep={tmp_path / 'sweep'}", as_report_setting, cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    assert "Analysing run again: its analysis/metrics.json is of best-epoch000.ckpt" in report.stdout
    assert "Reusing the existing analyses" not in report.stdout
    analysis = json.loads((run_dir / "analysis" / "metrics.json").read_text())
    assert analysis["checkpoint"].endswith(best)
    assert analysis["iwae"]["neg_log_likelihood"] != early["iwae"]["neg_log_likelihood"]

    again = run_cli("vae_lightning.report", f"sweep={tmp_path / 'sweep'}", as_report_setting, cwd=tmp_path)
    assert again.returncode == 0 and "Reusing the existing analyses of 1 run(s)" in again.stdout
