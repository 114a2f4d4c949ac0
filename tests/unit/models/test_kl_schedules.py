import pytest
import torch

from vae_lightning.errors import ConfigError
from vae_lightning.models.kl_schedules import KLSchedule


def test_constant_weight_is_beta_at_every_step():
    schedule = KLSchedule("constant", beta=4.0)
    assert [schedule.weight(step) for step in (0, 10, None)] == [4.0, 4.0, 4.0]
    assert schedule.penalty(torch.tensor([2.0]), 0).item() == 8.0


def test_linear_warmup_rises_from_zero_to_beta_and_evaluation_uses_beta():
    schedule = KLSchedule("linear_warmup", beta=2.0, warmup_steps=100)
    assert [schedule.weight(step) for step in (0, 50, 100, 500, None)] == [0.0, 1.0, 2.0, 2.0, 2.0]


def test_capacity_penalises_distance_from_a_rising_target():
    schedule = KLSchedule("capacity", beta=10.0, capacity_max=20.0, capacity_steps=200)
    assert [schedule.capacity(step) for step in (0, 100, 200, 1000, None)] == [0.0, 10.0, 20.0, 20.0, 20.0]
    kl = torch.tensor([4.0, 16.0])
    assert schedule.penalty(kl, 100).tolist() == [60.0, 60.0]  # 10·|4 − 10| and 10·|16 − 10|


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "cyclic"}, "model.kl_schedule='cyclic'"),
    ({"kind": "linear_warmup", "warmup_steps": 0}, "model.kl_warmup_steps=0"),
    ({"kind": "capacity", "capacity_max": 5.0, "capacity_steps": 0}, "model.capacity_steps=0"),
    ({"kind": "capacity", "capacity_max": -1.0, "capacity_steps": 10}, "model.capacity_max=-1.0"),
])
def test_bad_schedules_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        KLSchedule(**kwargs)
