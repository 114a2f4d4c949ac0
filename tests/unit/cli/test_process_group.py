"""A run that opened a process group (trainer=ddp) leaves it before exit, also when the run fails."""

import pytest
import torch.distributed as dist

from vae_lightning.cli.process_group import process_group_released


def open_group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)


def test_the_group_opened_in_the_block_is_destroyed_when_it_ends(tmp_path):
    with process_group_released():
        open_group(tmp_path)
        assert dist.is_initialized()
    assert not dist.is_initialized()


def test_the_group_is_destroyed_when_the_block_fails_and_the_error_goes_on(tmp_path):
    with pytest.raises(ValueError, match="the run's own error"), process_group_released():
        open_group(tmp_path)
        raise ValueError("the run's own error")
    assert not dist.is_initialized()


def test_without_a_group_the_block_changes_nothing():
    with process_group_released():
        pass
    assert not dist.is_initialized()
