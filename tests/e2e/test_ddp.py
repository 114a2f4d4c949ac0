"""Lightning DDP on CPU (gloo, 2 processes) through the real CLI: same result as one process with the same
effective batch, one set of logs, one set of checkpoints, one metrics.json."""

import json

import pytest

from tests.conftest import TINY_RUN, run_cli


@pytest.fixture(scope="module")
def single_and_ddp(tiny_data_root, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("ddp")
    common = [*TINY_RUN, f"data.root={tiny_data_root}"]
    single = run_cli("vae_lightning.train", *common, "data.batch_size=32", "hydra.run.dir=single", cwd=cwd)
    ddp = run_cli("vae_lightning.train", *common, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                  "data.batch_size=16", "hydra.run.dir=ddp", cwd=cwd)
    assert single.returncode == 0, single.stderr[-3000:]
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    return cwd, ddp


def test_two_processes_match_one_process_with_the_same_effective_batch(single_and_ddp):
    cwd, _ = single_and_ddp
    single, ddp = (json.loads((cwd / name / "metrics.json").read_text()) for name in ("single", "ddp"))
    assert ddp["global_step"] == single["global_step"]
    # Same seed and gradient size; only the order in which images meet differs (DistributedSampler).
    assert ddp["test"]["neg_elbo"] == pytest.approx(single["test"]["neg_elbo"], rel=0.01)
    assert ddp["test"]["neg_elbo"] < 530  # both trained well below the ≈ 543 nats of an untrained decoder


def test_ddp_logs_checkpoints_and_reports_once(single_and_ddp):
    cwd, result = single_and_ddp
    run_dir = cwd / "ddp"
    events = list(run_dir.glob("events.out.tfevents.*"))
    writers = {path.name.split(".")[-2] for path in events}  # events.out.tfevents.<time>.<host>.<pid>.<n>
    assert events and len(writers) == 1, events
    assert len(list((run_dir / "checkpoints").glob("best-*.ckpt"))) == 1
    lines = result.stdout.splitlines()
    # The start line and the closing summary, from process 0 only.
    assert sum(line.startswith("Training BetaVAE") for line in lines) == 1
    assert sum(line.startswith("Test (") for line in lines) == 1
