"""What the analysis shows while it runs: a line per phase, its time, and outside a terminal a plain line every tenth
of a long phase instead of a bar."""

import torch

from vae_lightning.analysis import progress as progress_module
from vae_lightning.analysis.job import one_torch_thread
from vae_lightning.analysis.progress import PhaseClock, lines_every_tenth, progress_bar


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


def test_in_a_log_a_phase_writes_a_plain_line_every_tenth_and_passes_every_item(capsys):
    assert list(lines_every_tenth(iter(range(25)), "IWAE K=1000", 25, min_seconds=0)) == list(range(25))
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert captured.err == "" and "\r" not in captured.out
    assert [line.split("%")[0].split()[-1] for line in lines] == ["12", "20", "32", "40", "52", "60", "72", "80",
                                                                 "92", "100"]
    assert all(line.startswith("    IWAE K=1000 ") for line in lines)
    assert "(3/25 batches" in lines[0] and "about 0 s left" in lines[-1]


def test_in_a_log_the_tenths_are_spaced_by_at_least_min_seconds(capsys, monkeypatch):
    clock = iter(range(0, 100, 3))  # 3 s between the clock's readings: the start, then each tenth reached
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    assert list(lines_every_tenth(iter(range(25)), "IWAE K=1000", 25, min_seconds=10)) == list(range(25))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("%")[0].split()[-1] for line in lines] == ["40", "80"]  # at 12 s and 24 s
    assert "12 s so far" in lines[0] and "24 s so far" in lines[1]


def test_in_a_log_a_short_phase_writes_nothing_and_the_total_defaults_to_the_length(capsys, monkeypatch):
    assert list(progress_bar(list(range(10)), "objective")) == list(range(10))
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(progress_module, "lines_every_tenth",
                        lambda items, description, total: (print(total), items)[1])
    assert list(progress_bar(list(range(10)), "objective")) == list(range(10))
    assert capsys.readouterr().out == "10\n"
    assert list(progress_bar(iter(range(10)), "objective")) == list(range(10))
    assert capsys.readouterr().out == ""


def test_on_a_terminal_the_phase_draws_a_bar_on_stderr_and_no_lines(capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert list(progress_bar(iter(range(5)), "encoding", total=5)) == [0, 1, 2, 3, 4]
    captured = capsys.readouterr()
    assert captured.out == "" and "encoding" in captured.err


def test_one_torch_thread_restores_the_count_it_found():
    before = torch.get_num_threads()
    with one_torch_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
