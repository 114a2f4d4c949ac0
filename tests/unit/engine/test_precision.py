"""trainer.precision=auto follows the hardware; the analysis's bfloat16 path is checked against float32 on the same
draws and falls back to float32 by itself when bfloat16 moves the bound too far."""

import pytest
import torch
from omegaconf import OmegaConf

from vae_lightning.analysis import likelihood_numbers as numbers
from vae_lightning.engine.precision import choose_evaluation_precision, choose_precision, cpu_bf16_flags
from vae_lightning.errors import ConfigError
from vae_lightning.models import BetaVAE

AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AVX2_CPU = "processor\t: 0\nflags\t\t: fpu sse avx2 fma\n"


@pytest.fixture
def cpuinfo(tmp_path):
    def write(text: str):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        return path
    return write


def test_auto_is_bf16_mixed_on_a_cpu_with_bfloat16_units_and_float32_without(cpuinfo):
    chosen = choose_precision("auto", "cpu", cpuinfo(AMX_CPU))
    assert (chosen.precision, chosen.requested) == ("bf16-mixed", "auto")
    assert chosen.describe() == "bf16-mixed (auto: the CPU has avx512_bf16 and amx_bf16)"
    assert choose_precision("auto", "cpu", cpuinfo(AVX2_CPU)).precision == "32-true"
    assert cpu_bf16_flags(cpuinfo(AVX2_CPU)) == []


def test_a_precision_set_in_the_config_is_kept_and_other_devices_get_float32(cpuinfo):
    assert choose_precision("32-true", "cpu", cpuinfo(AMX_CPU)).describe() == "32-true"
    assert choose_precision(16, "cpu", cpuinfo(AMX_CPU)).precision == "16"
    assert choose_precision("auto", "mps", cpuinfo(AMX_CPU)).precision == "32-true"


def test_auto_keeps_float32_where_the_cpu_says_nothing(tmp_path):
    assert choose_precision("auto", "cpu", tmp_path / "absent").precision == "32-true"


def test_an_unknown_analysis_precision_is_refused_with_the_values_allowed():
    with pytest.raises(ConfigError, match="precision=fp8 is not an analysis precision: use one of auto, bf16-mixed"):
        choose_evaluation_precision("fp8", torch.device("cpu"))


SETTINGS = OmegaConf.create({"num_samples": 8, "batch_size": 4, "precision_check_images": 6,
                             "convergence": {"num_samples": [1, 8], "num_images": 4}})


def likelihood_block(model: BetaVAE, images: torch.Tensor, bfloat16: bool) -> dict:
    labels = torch.zeros(len(images), dtype=torch.long)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
        return numbers.likelihood_numbers(model, images, labels, SETTINGS, seed=0, subset="test")


@pytest.fixture(scope="module")
def small_model_and_images():
    torch.manual_seed(0)
    model = BetaVAE(latent_dim=4, channels=[4, 8], hidden_dim=16).eval()
    return model, torch.rand(10, 1, 28, 28).round()


def test_bfloat16_moves_the_bound_little_and_the_check_says_so(small_model_and_images):
    model, images = small_model_and_images
    low, full = likelihood_block(model, images, True), likelihood_block(model, images, False)
    check = low["iwae"]["bfloat16_check"]
    assert check["bfloat16_used"] and check["num_images"] == 6
    assert abs(check["neg_log_likelihood_shift"]["mean"]) < 0.05
    assert "bfloat16_check" not in full["iwae"]  # float32 throughout: nothing to check
    assert low["iwae"]["neg_log_likelihood"] != full["iwae"]["neg_log_likelihood"]  # bfloat16 did run
    assert low["iwae"]["neg_log_likelihood"] == pytest.approx(full["iwae"]["neg_log_likelihood"], abs=0.05)


def test_the_likelihood_block_falls_back_to_float32_when_bfloat16_moves_the_bound_too_far(
        small_model_and_images, monkeypatch):
    model, images = small_model_and_images
    monkeypatch.setattr(numbers, "BFLOAT16_TOLERANCE_NATS", 0.0)
    low, full = likelihood_block(model, images, True), likelihood_block(model, images, False)
    assert not low["iwae"]["bfloat16_check"]["bfloat16_used"]
    assert low["iwae"]["neg_log_likelihood"] == full["iwae"]["neg_log_likelihood"]
    assert low["iwae_convergence"] == full["iwae_convergence"]
