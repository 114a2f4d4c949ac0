"""The sub-pixel form of a stride-2 transposed convolution computes the same map, and only few-channel output layers
are converted."""

import pytest
import torch
from torch import nn

from vae_lightning.models.nets.conv_vae import ConvDecoder, _same_halving_padding, _transposed_output_padding
from vae_lightning.models.nets.sub_pixel import SubPixelConv, converts, use_sub_pixel_outputs


@pytest.mark.parametrize("kernel_size", [2, 3, 4, 5, 6, (4, 3)])
@pytest.mark.parametrize("out_channels", [1, 3])
def test_sub_pixel_form_equals_the_transposed_convolution(kernel_size: int | tuple[int, int],
                                                          out_channels: int) -> None:
    kernels = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    torch.manual_seed(0)
    transposed = nn.ConvTranspose2d(5, out_channels, kernels, stride=2,
                                    padding=tuple(_same_halving_padding(k) for k in kernels),
                                    output_padding=tuple(_transposed_output_padding(k) for k in kernels))
    x = torch.randn(3, 5, 7, 6)
    expected = transposed(x)
    assert expected.shape[-2:] == (14, 12)
    torch.testing.assert_close(SubPixelConv(transposed)(x), expected, rtol=1e-5, atol=1e-5)


def test_a_layer_that_does_not_double_its_side_is_refused() -> None:
    halving_mismatch = nn.ConvTranspose2d(4, 1, 4, stride=2, padding=0)
    assert not converts(halving_mismatch) and not converts(nn.ConvTranspose2d(4, 1, 3, stride=1, padding=1))
    with pytest.raises(ValueError, match="doubles its input side"):
        SubPixelConv(halving_mismatch)


def test_only_the_few_channel_output_layer_of_a_decoder_is_converted_and_its_output_is_unchanged() -> None:
    torch.manual_seed(0)
    decoder = ConvDecoder((1, 28, 28), (32, 64), 4, 64, 8).eval()
    z = torch.randn(10, 8)
    with torch.no_grad():
        expected = decoder(z)
        use_sub_pixel_outputs(decoder)
        converted = decoder(z)
    kinds = [type(layer) for layer in decoder.upsample]
    assert kinds == [nn.ConvTranspose2d, nn.ReLU, SubPixelConv]
    torch.testing.assert_close(converted, expected, rtol=1e-5, atol=1e-5)
