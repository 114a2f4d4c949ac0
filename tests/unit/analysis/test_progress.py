"""What the analysis shows while it runs: a line per phase, its time, and no bar outside a terminal."""

import torch

from vae_lightning.analysis.job import one_torch_thread
from vae_lightning.analysis.progress import PhaseClock, progress_bar


def test_each_phase_is_announced_on_its_own_line_and_timed(capsys):
    clock = PhaseClock()
    with clock("encoding", "70,000 images"):
        sum(range(10_000))
    with clock("figures"):
        pass
    assert capsys.readouterr().out == "  encoding (70,000 images) …\n  figures …\n"
    assert list(clock.seconds) == ["encoding", "figures"]
    assert all(times["wall"] >= 0 and times["cpu"] >= 0 for times in clock.seconds.values())
    assert clock.total() == sum(times["wall"] for times in clock.seconds.values())


def test_a_phase_that_fails_keeps_its_time():
    clock = PhaseClock()
    try:
        with clock("probes"):
            raise ValueError
    except ValueError:
        pass
    assert "probes" in clock.seconds


def test_the_bar_passes_every_item_and_draws_nothing_in_a_log(capsys):
    assert list(progress_bar(iter(range(5)), "encoding", total=5)) == [0, 1, 2, 3, 4]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_one_torch_thread_restores_the_count_it_found():
    before = torch.get_num_threads()
    with one_torch_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
