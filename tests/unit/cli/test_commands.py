"""Paths on the command line: a sweep point's folder holds `=` and `,`, which Hydra's override grammar reads."""

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from vae_lightning.cli.commands import quote_existing_paths, refuse_combined_modes
from vae_lightning.runs.commands import hydra_path


def _parsed_value(argument: str) -> str:
    return OverridesParser.create().parse_override(argument).value()


def test_an_existing_sweep_point_folder_is_quoted_so_hydra_reads_it_whole(tmp_path):
    point = tmp_path / "sweep" / "data.labeled_fraction=0.1,model.beta=4"
    point.mkdir(parents=True)
    [argument] = quote_existing_paths([f"run={point}"], ("run",))
    assert _parsed_value(argument) == str(point)


def test_other_arguments_and_paths_that_do_not_exist_are_left_alone(tmp_path):
    arguments = ["model.beta=1,4", f"run={tmp_path}/missing=1", f"sweep={tmp_path}", "run='already quoted'"]
    assert quote_existing_paths(arguments, ("run", "sweep")) == arguments


def test_hydra_path_round_trips_quotes_and_backslashes(tmp_path):
    path = tmp_path / "it's a=b,c\\d"
    assert _parsed_value(f"run={hydra_path(path)}") == str(path)
    for name in ("ends in a backslash\\", "a backslash before a quote\\'s"):
        assert _parsed_value(f"run={hydra_path(tmp_path / name)}") == str(tmp_path / name)


@pytest.mark.parametrize("arguments", [["-m", "model.beta=1,2", "--cfg", "hydra"], ["--multirun", "--cfg=job"],
                                       ["-c", "job", "--info"]])
def test_two_hydra_modes_at_once_are_one_paragraph_not_a_traceback(arguments, capsys):
    with pytest.raises(SystemExit) as stopped:
        refuse_combined_modes(arguments, "train")
    error = capsys.readouterr().err
    assert stopped.value.code == 2 and error.startswith("\nError: ") and "cannot be used together" in error
    assert ("drop -m and give each swept key one value" in error) == ("-c" not in arguments)


def test_one_hydra_mode_goes_through():
    refuse_combined_modes(["-m", "model.beta=1,2"], "train")
    refuse_combined_modes(["--cfg", "job", "model.beta=2"], "train")
