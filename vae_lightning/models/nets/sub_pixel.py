"""A stride-2 transposed convolution rewritten as a convolution followed by a pixel shuffle (Shi et al. 2016), for
evaluation.

The two compute the same map: each of the four output phases (row parity × column parity) is an ordinary
convolution of the input with a subset of the transposed kernel's taps. oneDNN's transposed-convolution kernel is
slow when it has only a few output channels, which is exactly a decoder's output layer (1 or 3 image channels):
there the sub-pixel form ran 1.1–2.3× faster on a CPU with oneDNN (32 → 1 and 3 channels at 14 × 14 and 32 × 32,
float32 and bfloat16; `benchmarks/README.md`, eval_rate.py), and with 10 or more output channels it ran slower, so
`use_sub_pixel_outputs` converts only layers with at most `MAX_SUB_PIXEL_CHANNELS` output channels. The weights are
rearranged once, from the trained layer; training keeps the transposed convolution and its parameters.
"""

from itertools import product

import torch.nn.functional as F
from torch import Tensor, nn

MAX_SUB_PIXEL_CHANNELS = 4
STRIDE = 2


class SubPixelConv(nn.Module):
    """The map of a stride-2 `nn.ConvTranspose2d` whose output side is exactly twice its input side."""

    def __init__(self, transposed: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not converts(transposed):
            raise ValueError(f"{transposed} is not a stride-2 transposed convolution that doubles its input side")
        (taps_h, pad_h), (taps_w, pad_w) = (_phase_taps(k, p) for k, p in
                                            zip(transposed.kernel_size, transposed.padding, strict=True))
        weight = transposed.weight.detach()  # (c_in, c_out, k_h, k_w)
        c_in, c_out = weight.shape[:2]
        sub = weight.new_zeros(c_out, STRIDE, STRIDE, c_in, len(taps_h[0]), len(taps_w[0]))
        for (a, row_taps), (b, column_taps) in product(enumerate(taps_h), enumerate(taps_w)):
            for (i, tap_h), (j, tap_w) in product(enumerate(row_taps), enumerate(column_taps)):
                if tap_h is not None and tap_w is not None:
                    sub[:, a, b, :, i, j] = weight[:, :, tap_h, tap_w].t()
        self.weight = nn.Parameter(sub.flatten(0, 2), requires_grad=False)
        bias = transposed.bias.detach() if transposed.bias is not None else weight.new_zeros(c_out)
        self.bias = nn.Parameter(bias.repeat_interleave(STRIDE * STRIDE), requires_grad=False)
        # Equal zeros on both sides of an axis are the convolution's own padding; unequal ones are added first.
        symmetric = pad_h[0] == pad_h[1] and pad_w[0] == pad_w[1]
        self.padding = (pad_h[0], pad_w[0]) if symmetric else 0
        self.padding_first = None if symmetric else (*pad_w, *pad_h)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_first is not None:
            x = F.pad(x, self.padding_first)
        return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias, padding=self.padding), STRIDE)


def converts(layer: nn.Module) -> bool:
    """Whether `layer` is a transposed convolution `SubPixelConv` can stand in for."""
    if not isinstance(layer, nn.ConvTranspose2d):
        return False
    side_doubles = all(k + op - 2 * p == STRIDE for k, p, op in
                       zip(layer.kernel_size, layer.padding, layer.output_padding, strict=True))
    return (layer.stride == (STRIDE, STRIDE) and layer.dilation == (1, 1) and layer.groups == 1
            and layer.padding_mode == "zeros" and side_doubles)


def use_sub_pixel_outputs(module: nn.Module) -> nn.Module:
    """Replace, in place, every convertible transposed convolution in `module` with at most
    `MAX_SUB_PIXEL_CHANNELS` output channels by its `SubPixelConv`; returns `module`."""
    for name, child in module.named_children():
        if converts(child) and child.out_channels <= MAX_SUB_PIXEL_CHANNELS:
            setattr(module, name, SubPixelConv(child))
        else:
            use_sub_pixel_outputs(child)
    return module


def _phase_taps(kernel: int, padding: int) -> tuple[list[list[int | None]], tuple[int, int]]:
    """Along one axis: for each output parity a ∈ {0, 1}, the kernel tap through which input offset d reaches output
    2i + a (t = a + padding − 2d, None where t falls outside the kernel), for d over the window both parities share;
    and the zeros to add before and after the input so that window fits at the edges (−d_min, d_max)."""
    first = min((a + padding - kernel) // STRIDE + 1 for a in range(STRIDE))
    last = max((a + padding) // STRIDE for a in range(STRIDE))
    taps = [[t if 0 <= (t := a + padding - STRIDE * d) < kernel else None for d in range(first, last + 1)]
            for a in range(STRIDE)]
    return taps, (-first, last)
