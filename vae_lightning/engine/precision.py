"""trainer.precision=auto: bfloat16 mixed precision where the hardware has bfloat16 units, float32 elsewhere.

bf16-mixed trains this model about 1.4–1.9× faster on CPUs with AVX-512 BF16 or AMX at the same test −ELBO, and
about 15× slower on CPUs without them (AVX2 emulates bfloat16), so the choice follows the machine, not a fixed value.
"""

import contextlib
import dataclasses
from pathlib import Path

import torch

from vae_lightning.errors import ConfigError

AUTO = "auto"
BF16 = "bf16-mixed"
FLOAT32 = "32-true"
# /proc/cpuinfo flags of native bfloat16 arithmetic: AVX-512 BF16 dot products, AMX bfloat16 tiles
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclasses.dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run trains in, what was asked for, and why: the start line and metrics.json quote it."""

    precision: str
    requested: str
    reason: str

    def describe(self) -> str:
        return self.precision if self.requested != AUTO else f"{self.precision} (auto: {self.reason})"


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The native-bfloat16 flags this CPU reports; empty where it reports none or the file does not exist (not
    Linux), which keeps float32."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [flag for flag in CPU_BF16_FLAGS if flag in flags]


def uses_cuda(accelerator: str) -> bool:
    """Whether the Trainer's `accelerator` setting puts this run on a CUDA GPU."""
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def choose_precision(requested: str | int, accelerator: str, cpuinfo: Path = Path("/proc/cpuinfo")) -> PrecisionChoice:
    """Resolve `trainer.precision`; any value but `auto` is kept as it is."""
    requested = str(requested)
    if requested != AUTO:
        return PrecisionChoice(requested, requested, "set in the config")
    if uses_cuda(accelerator):
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return PrecisionChoice(BF16, AUTO, f"{torch.cuda.get_device_name()} computes in bfloat16")
        return PrecisionChoice(FLOAT32, AUTO, "the GPU has no bfloat16 support")
    if accelerator not in ("auto", "cpu"):
        return PrecisionChoice(FLOAT32, AUTO, f"accelerator {accelerator}")
    flags = cpu_bf16_flags(cpuinfo)
    if flags:
        return PrecisionChoice(BF16, AUTO, f"the CPU has {' and '.join(flags)}")
    return PrecisionChoice(FLOAT32, AUTO, "the CPU has no bfloat16 units: no avx512_bf16 or amx_bf16")


EVALUATION_PRECISIONS = (AUTO, BF16, FLOAT32)


def choose_evaluation_precision(requested: str, device: torch.device) -> PrecisionChoice:
    """The precision the analysis encodes and decodes in on `device`: the training rule, checked against the values
    analyze.yaml's `precision` allows."""
    if str(requested) not in EVALUATION_PRECISIONS:
        raise ConfigError(f"precision={requested} is not an analysis precision: use one of "
                          f"{', '.join(EVALUATION_PRECISIONS)} (auto: bf16-mixed where the hardware has bfloat16 "
                          "units).")
    return choose_precision(requested, device.type)


def autocast(choice: PrecisionChoice, device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on `device` for a bf16-mixed choice; float32 (autocast off) otherwise. The encoder and the
    decoder return float32, so only their convolutions and matrix products run in bfloat16."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=choice.precision == BF16)
