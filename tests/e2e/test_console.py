"""What a person sees of a real training run: the start line, plain progress lines, the closing summary, train.log
and the TensorBoard cards."""

import re

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import TINY_RUN, run_cli, run_cli_in_terminal
from vae_lightning.runs.checkpoint_files import load_checkpoint

WITH_PROGRESS = [*TINY_RUN, "trainer.enable_progress_bar=true", "trainer.log_every_n_steps=2"]


@pytest.fixture(scope="module")
def run_with_progress(tiny_data_root, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("console")
    result = run_cli("vae_lightning.train", *WITH_PROGRESS, f"data.root={tiny_data_root}", "hydra.run.dir=run",
                     cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "run", result


def test_console_shows_one_start_line_progress_lines_and_no_lightning_banners(run_with_progress):
    _, result = run_with_progress
    printed = result.stdout + result.stderr
    assert printed.count("Training BetaVAE (4-d latent, β=1") == 1
    assert "GPU available" not in printed and "TPU available" not in printed and "litlogger" not in printed
    assert "Test metric" not in printed and "LeafSpec" not in printed and "transfer_batch_to_device" not in printed
    progress = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert any("loss" in line and "−ELBO" in line for line in progress)
    assert any(line.startswith("epoch 2/2 done in") and "val −ELBO" in line for line in progress)
    assert "\r" not in printed and "\x1b[" not in printed


def test_progress_counts_steps_when_the_budget_is_in_steps(tiny_data_root, tmp_path):
    """max_epochs=-1 with max_steps: the lines count the run's steps across epochs and end at 100%."""
    budget = ["trainer.max_epochs=-1", "trainer.max_steps=9", "+trainer.val_check_interval=3"]  # 6 batches an epoch
    result = run_cli("vae_lightning.train", *WITH_PROGRESS, *budget, f"data.root={tiny_data_root}",
                     "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(", 9 steps, " in line for line in lines if line.startswith("Training "))
    counted = [match.groups() for line in lines if (match := re.match(r"step (\d+)/9 +(\d+)% \(\d", line))]
    assert counted == [(str(step), str(100 * step // 9)) for step in range(1, 10)]
    validated = [line.split(" after")[0] for line in lines if "validated" in line]
    assert validated == [f"step {n}/9 validated" for n in (3, 6, 9)]
    assert not [line for line in lines if line.startswith("epoch ")]
    assert "Automatic Mixed Precision" not in result.stdout + result.stderr


def test_train_log_holds_everything_printed(run_with_progress):
    run_dir, result = run_with_progress
    log = (run_dir / "train.log").read_text()
    for line in result.stdout.strip().splitlines():
        assert line.strip() in log
    assert f"Run directory: {run_dir}" in log and "negative ELBO" in log and "KL per dimension" in log


def test_train_log_holds_the_error_and_the_resume_command_after_ctrl_c(tiny_data_root, tmp_path):
    fault = ["+callbacks.fault._target_=tests.fault_injection.SignalAtStep", "+callbacks.fault.step=2",
             f"+callbacks.fault.marker={tmp_path / 'fired'}", "+callbacks.fault.signal_name=SIGINT"]
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", *fault, "hydra.run.dir=run",
                     cwd=tmp_path)
    assert result.returncode == 130
    log = (tmp_path / "run" / "train.log").read_text()
    assert "Interrupted during epoch 1, at step 2" in log and f"resume={tmp_path / 'run'}" in log


def test_train_log_holds_a_users_error(tiny_data_root, tmp_path):
    poison = ["+callbacks.fault._target_=tests.fault_injection.PoisonWeightsAtStep", "+callbacks.fault.step=1",
              f"+callbacks.fault.marker={tmp_path / 'fired'}"]
    result = run_cli("vae_lightning.train", *TINY_RUN, f"data.root={tiny_data_root}", *poison, "hydra.run.dir=run",
                     cwd=tmp_path)
    assert result.returncode == 2
    assert "Error: Training stopped" in (tmp_path / "run" / "train.log").read_text()


def test_tensorboard_scalars_are_the_main_curves_only(run_with_progress):
    run_dir, _ = run_with_progress
    scalars = EventAccumulator(str(run_dir)).Reload().Tags()["scalars"]
    terms = ("loss", "recon", "kl", "neg_elbo")
    expected = {"train/lr-Adam", *(f"{stage}/{term}" for stage in ("val", "test") for term in terms),
                *(f"train/{term}_{when}" for term in terms for when in ("step", "epoch"))}
    assert set(scalars) == expected  # 4 latent dimensions, and 17 cards: none per dimension, no `epoch` card


IN_TERMINAL = [*TINY_RUN, "trainer.enable_progress_bar=true", "threads=3"]  # 3 threads: more than 2 cores have
BATCHES = 6  # 96 images, 10% for validation, batches of 16


def _lines_as_shown(written: str) -> list[str]:
    """What a terminal shows of each line: the text after its last carriage return, escape codes dropped."""
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line.rsplit("\r", 1)[-1]).strip()
            for line in written.replace("\r\n", "\n").split("\n")]


def test_a_terminal_shows_one_bar_per_epoch_drawn_once_per_batch_and_the_hint_last_after_ctrl_c(tiny_data_root,
                                                                                               tmp_path):
    ctrl_c = ["+callbacks.fault._target_=tests.fault_injection.SignalAtStep", f"+callbacks.fault.step={BATCHES + 2}",
              f"+callbacks.fault.marker={tmp_path / 'fired'}", "+callbacks.fault.signal_name=SIGINT"]
    status, written = run_cli_in_terminal("vae_lightning.train", *IN_TERMINAL, *ctrl_c,
                                          f"data.root={tiny_data_root}", "hydra.run.dir=run", cwd=tmp_path)
    assert status == 130, written[-3000:]
    assert "Training:" not in written and "Epoch 0" not in written and "Detected KeyboardInterrupt" not in written
    first_epoch = written.count("Epoch 1/2:")
    assert BATCHES <= first_epoch <= BATCHES + 4  # once per batch, the opening and closing draws (Lightning: 2×)
    assert "An epoch has 6 batches, fewer than trainer.log_every_n_steps=50" in written
    assert "smaller than the logging interval" not in written
    assert any(line.startswith("Epoch 1/2: 100%") and "loss" in line for line in _lines_as_shown(written))
    assert re.search(r"Warning: 3 CPU threads, but only \d of this machine's \d+ cores are free", written)
    shown = [line for line in _lines_as_shown(written) if line]
    assert shown[-2].startswith("Interrupted during epoch 2, at step 8.") and "last.ckpt" in shown[-2]
    assert shown[-1].startswith("python -m vae_lightning.train") and shown[-1].endswith(f"resume={tmp_path / 'run'}")
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    rows = load_checkpoint(last)["callbacks"]["LatentPanels"]["traversal_dims"]  # chosen after the first epoch
    assert len(rows) == 3

    status, written = run_cli_in_terminal("vae_lightning.train", *IN_TERMINAL, f"data.root={tiny_data_root}",
                                          f"resume={tmp_path / 'run'}", cwd=tmp_path)
    assert status == 0, written[-3000:]
    assert "Continuing the interrupted run" in written
    assert "exists and is not empty" not in written and "Restored all states" not in written
    assert "Epoch 2/2:" in written and "Epoch 1/2:" not in written
    shown = [line for line in _lines_as_shown(written) if line]
    assert shown[-2:] == ["See its curves and pictures with:", f"tensorboard --logdir {tmp_path / 'run'}"]
    assert load_checkpoint(last)["callbacks"]["LatentPanels"]["traversal_dims"] == rows  # the same after resuming
