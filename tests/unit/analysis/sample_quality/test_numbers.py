import math

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from tests.extending_example import BarsDataModule
from vae_lightning.analysis.metrics import seeded_subset
from vae_lightning.analysis.sample_quality.numbers import can_sample, measure_samples
from vae_lightning.analysis.sample_quality.summary import render_sample_summary, sample_quality_lines
from vae_lightning.errors import ConfigError
from vae_lightning.models.contract import GenerativeModel


class ImageBank(GenerativeModel):
    """A 'model' whose samples are seeded draws from fixed images (float in [0, 1]); records the labels it was given."""

    def __init__(self, images: torch.Tensor, conditional: bool = False) -> None:
        super().__init__()
        self.images = images.float() / 255 if images.dtype == torch.uint8 else images
        self.conditional = conditional
        self.labels_seen: list[torch.Tensor] = []
        self.weight = nn.Parameter(torch.zeros(1))  # a device to follow

    def sample(self, num_samples: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            self.labels_seen.append(labels)
        return self.images[torch.randint(len(self.images), (num_samples,), generator=generator)]


class NoSampler(nn.Module):
    pass


@pytest.fixture(scope="module")
def bars():
    datamodule = BarsDataModule(num_train=256, num_test=64)
    datamodule.setup()
    return datamodule


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return OmegaConf.create({"compute": "auto", "num_samples": 10000, "batch_size": 32, "bootstrap_resamples": 5,
                             "knn_k": 3, "cache_dir": str(tmp_path_factory.mktemp("feature_cache"))})


def measure(model: nn.Module, datamodule: BarsDataModule, settings, **changes) -> dict:
    return measure_samples(model, datamodule, OmegaConf.merge(settings, changes), seed=0)[0]


def test_training_images_score_far_better_than_noise_against_the_test_split(bars, settings):
    data_like = measure(ImageBank(bars.split("train").images), bars, settings)
    noise = measure(ImageBank(torch.rand(256, 1, 16, 16)), bars, settings)
    assert data_like["num_samples"] == 64 and data_like["reference"] == {"split": "test", "num_images": 64, "seed": 0}
    assert data_like["fid"] < noise["fid"] / 10
    assert data_like["precision"] > 0.8 > noise["precision"] and data_like["recall"] > noise["recall"]
    assert data_like["feature_network"]["test_accuracy"] > 0.5  # chance is 1/8; 256 training images, 3 epochs
    assert data_like["class_balance"]["samples"]["class_entropy"] > 0.9 * math.log(8)


def test_the_test_split_against_itself_has_fid_zero_within_its_error_bar(bars, settings):
    itself = measure(ImageBank(bars.split("test").images), bars, settings, bootstrap_resamples=10)
    assert itself["fid"] <= itself["fid_bootstrap_std"]


def test_fid_grows_with_the_blur_of_the_samples(bars, settings):
    images = bars.split("train").images.float() / 255
    fids = [measure(ImageBank(gaussian_blur(images, kernel_size=7, sigma=sigma)), bars, settings)["fid"]
            for sigma in (0.1, 1.0, 2.0, 4.0)]
    assert fids == sorted(fids) and fids[-1] > 3 * fids[0]


def test_a_conditional_model_draws_under_the_labels_of_the_reference_images(bars, settings):
    model = ImageBank(bars.split("train").images, conditional=True)
    measure(model, bars, settings, num_samples=40, batch_size=16)
    assert [len(labels) for labels in model.labels_seen] == [16, 16, 8]
    reference_labels = bars.split("test").labels[seeded_subset(64, 40, seed=0)]
    assert torch.equal(torch.cat(model.labels_seen), reference_labels)


def test_a_model_that_cannot_sample_gets_one_line_not_a_traceback(bars, settings, capsys):
    block, samples = measure_samples(NoSampler(), bars, settings, seed=0)
    assert not can_sample(NoSampler()) and samples is None
    assert "NoSampler cannot draw samples" in block["skipped"]
    assert capsys.readouterr().out.strip().startswith("Sample quality not measured: NoSampler cannot draw samples")
    assert sample_quality_lines(block) == ["", f"Sample quality not measured: {block['skipped']}."]


def test_compute_true_makes_a_model_that_cannot_sample_an_error(bars, settings):
    with pytest.raises(ConfigError, match="sample_quality.compute=true, but NoSampler cannot draw samples"):
        measure_samples(NoSampler(), bars, OmegaConf.merge(settings, {"compute": True}), seed=0)


def test_compute_false_skips_it(bars, settings):
    model = ImageBank(bars.split("train").images)
    assert measure(model, bars, settings, compute=False) == {"skipped": "switched off (sample_quality.compute=false)"}


@pytest.mark.parametrize(("change", "message"), [
    ({"knn_k": 0}, "k must be >= 1"),
    ({"num_samples": 3}, "sample_quality.num_samples=3 with sample_quality.knn_k=3 is not allowed"),
    ({"batch_size": 0}, "sample_quality.batch_size=0 is not allowed"),
    ({"bootstrap_resamples": -1}, "sample_quality.bootstrap_resamples=-1 is not allowed"),
])
def test_unusable_sizes_are_refused_naming_the_key(bars, settings, change, message):
    with pytest.raises(ConfigError, match=message):
        measure(ImageBank(bars.split("train").images), bars, settings, **change)


def test_the_summary_of_a_model_without_an_encoder_states_every_number_with_its_images(bars, settings):
    block = measure(ImageBank(bars.split("train").images), bars, settings)
    text = render_sample_summary({"dataset": "bars", "model": "tests.TinyGAN", "checkpoint": "c.ckpt", "seed": 0,
                                  "sample_quality": block})
    assert "# Sample analysis: bars, TinyGAN" in text
    assert f"| FID | {block['fid']:.2f} ± {block['fid_bootstrap_std']:.2f}" in text
    assert "64 samples vs 64 test images" in text and "test accuracy" in text
