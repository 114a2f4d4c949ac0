from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate

from tests.data_helpers import write_idx_dataset
from vae_lightning.data import MNISTFamilyDataModule
from vae_lightning.data.idx import read_idx
from vae_lightning.data.mnist_family import InMemoryImages
from vae_lightning.engine.module import engine_for
from vae_lightning.errors import ConfigError, DataError
from vae_lightning.models import BetaVAE

N_TRAIN, N_TEST = 64, 32
N_VAL = round(N_TRAIN * 0.1)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, n_train=N_TRAIN, n_test=N_TEST)
    return root


@pytest.fixture
def make_datamodule(data_root, tmp_path):
    def make(**overrides) -> MNISTFamilyDataModule:
        args = {"name": "fashion", "root": str(data_root), "cache_dir": str(tmp_path / "cache"), "download": False}
        datamodule = MNISTFamilyDataModule(**(args | overrides))
        datamodule.prepare_data()
        datamodule.setup("fit")
        return datamodule

    return make


def all_batches(loader) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*loader, strict=True)
    return torch.cat(images), torch.cat(labels)


def test_splits_have_the_expected_sizes(make_datamodule):
    datamodule = make_datamodule()
    assert len(datamodule.train_dataloader().dataset) == N_TRAIN - N_VAL
    assert len(datamodule.val_dataloader().dataset) == N_VAL
    assert len(datamodule.test_dataloader().dataset) == N_TEST


def test_limit_train_samples_shrinks_only_the_training_split(make_datamodule):
    datamodule = make_datamodule(limit_train_samples=10)
    assert len(datamodule.train_dataloader().dataset) == 10
    assert len(datamodule.val_dataloader().dataset) == N_VAL


def test_train_and_val_partition_the_official_training_set(make_datamodule, data_root):
    datamodule = make_datamodule(batch_size=7)
    train_images, _ = all_batches(datamodule.train_dataloader())
    val_images, _ = all_batches(datamodule.val_dataloader())
    official = read_idx(data_root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").float().div(255)
    rows = {tuple(image.flatten().tolist()) for image in torch.cat([train_images, val_images])}
    assert rows == {tuple(image.flatten().tolist()) for image in official}
    assert len(train_images) + len(val_images) == N_TRAIN


def test_split_is_reproducible_for_a_seed_and_differs_for_another(make_datamodule):
    val_labels = [all_batches(make_datamodule(seed=seed).val_dataloader())[1] for seed in (0, 0, 1)]
    val_images = [make_datamodule(seed=seed).fixed_batch("val", N_VAL)[0] for seed in (0, 0, 1)]
    assert torch.equal(val_labels[0], val_labels[1]) and torch.equal(val_images[0], val_images[1])
    assert not torch.equal(val_images[0], val_images[2])


def test_batches_are_float_images_in_unit_range_and_int64_labels(make_datamodule):
    images, labels = next(iter(make_datamodule(batch_size=16).train_dataloader()))
    assert images.shape == (16, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (16,) and labels.dtype == torch.int64
    assert images.min() >= 0 and images.max() == 1
    assert set(labels.tolist()) <= set(range(10))


def test_train_loader_keeps_the_last_partial_batch(make_datamodule):
    sizes = [len(labels) for _, labels in make_datamodule(batch_size=16).train_dataloader()]
    assert sizes == [16, 16, 16, N_TRAIN - N_VAL - 48]


def test_train_loader_shuffles_reproducibly_and_differently_each_epoch(make_datamodule):
    first = make_datamodule(batch_size=8)
    second = make_datamodule(batch_size=8)
    epoch_one = all_batches(first.train_dataloader())[1]
    assert torch.equal(epoch_one, all_batches(second.train_dataloader())[1])
    assert not torch.equal(epoch_one, all_batches(first.train_dataloader())[1])
    assert not torch.equal(epoch_one, first.train_dataloader().dataset.labels)


def test_tensor_and_torchvision_loaders_yield_identical_batches(make_datamodule):
    tensor = make_datamodule(loader="tensor", batch_size=8, eval_batch_size=4)
    torchvision = make_datamodule(loader="torchvision", batch_size=8, eval_batch_size=4)
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        for (images_a, labels_a), (images_b, labels_b) in zip(
            getattr(tensor, name)(), getattr(torchvision, name)(), strict=True
        ):
            assert torch.equal(images_a, images_b) and torch.equal(labels_a, labels_b)
            assert images_b.dtype == torch.float32 and labels_b.dtype == torch.int64


def test_worker_processes_yield_the_same_batches_as_the_main_process(make_datamodule):
    in_process = all_batches(make_datamodule(num_workers=0).val_dataloader())
    loader = make_datamodule(num_workers=1).val_dataloader()
    assert loader.persistent_workers
    in_worker = all_batches(loader)
    assert torch.equal(in_process[0], in_worker[0]) and torch.equal(in_process[1], in_worker[1])


def test_fixed_batch_is_the_first_images_of_the_split_every_call(make_datamodule):
    datamodule = make_datamodule(eval_batch_size=5)
    images, labels = datamodule.fixed_batch("val", 5)
    again_images, again_labels = datamodule.fixed_batch("val", 5)
    first_images, first_labels = next(iter(datamodule.val_dataloader()))
    assert images.shape == (5, 1, 28, 28)
    assert torch.equal(images, again_images) and torch.equal(labels, again_labels)
    assert torch.equal(images, first_images) and torch.equal(labels, first_labels)


def test_fixed_test_batch_matches_the_official_test_file(make_datamodule, data_root):
    images, labels = make_datamodule().fixed_batch("test", 3)
    raw = data_root / "FashionMNIST" / "raw"
    assert torch.equal(images, read_idx(raw / "t10k-images-idx3-ubyte.gz")[:3, None].float().div(255))
    assert torch.equal(labels, read_idx(raw / "t10k-labels-idx1-ubyte.gz")[:3].long())


def test_fixed_batch_rejects_unknown_split_and_oversized_n(make_datamodule):
    datamodule = make_datamodule()
    with pytest.raises(ConfigError, match="'train'"):
        datamodule.fixed_batch("train", 2)
    with pytest.raises(ConfigError, match=f"n <= {N_VAL}"):
        datamodule.fixed_batch("val", N_VAL + 1)


def test_loaders_before_setup_raise_a_data_error(data_root):
    with pytest.raises(DataError, match="setup"):
        MNISTFamilyDataModule(name="fashion", root=str(data_root), download=False).train_dataloader()


def test_single_item_matches_the_same_row_of_a_batch():
    dataset = InMemoryImages(torch.arange(2 * 4 * 4, dtype=torch.uint8).reshape(2, 1, 4, 4), torch.tensor([3, 8]))
    image, label = dataset[1]
    batch_images, batch_labels = dataset.batch([1])
    assert torch.equal(image, batch_images[0]) and label == batch_labels[0] == 8
    assert image.shape == (1, 4, 4) and image.max().item() == pytest.approx(31 / 255)


def test_class_names_and_image_shape_come_from_the_dataset():
    datamodule = MNISTFamilyDataModule(name="mnist", download=False)
    assert datamodule.class_names == tuple("0123456789") and datamodule.image_shape == (1, 28, 28)


def test_relative_root_is_resolved_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert MNISTFamilyDataModule(name="fashion", root="data").root == tmp_path / "data"


def test_hydra_instantiate_builds_the_datamodule_from_config(data_root, tmp_path):
    config = {"_target_": "vae_lightning.data.MNISTFamilyDataModule", "name": "fashion", "root": str(data_root),
              "cache_dir": str(tmp_path), "download": False, "batch_size": 4}  # fmt: skip
    datamodule = instantiate(config)
    datamodule.setup("fit")
    assert datamodule.hparams.batch_size == 4 and len(next(iter(datamodule.train_dataloader()))[1]) == 4


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("name", "cifar", "mnist, fashion"),
        ("batch_size", 0, ">= 1"),
        ("eval_batch_size", 2.5, ">= 1"),
        ("val_fraction", 1.0, "(0, 1)"),
        ("val_fraction", 0, "(0, 1)"),
        ("loader", "pil", "tensor, torchvision"),
        ("num_workers", -1, ">= 0"),
        ("download", "yes", "true or false"),
        ("limit_train_samples", 0, ">= 1"),
        ("seed", True, "an integer"),
        ("binarize", "half", "'dynamic'"),
    ],
)
def test_bad_config_value_raises_config_error_naming_the_key(key, value, allowed):
    with pytest.raises(ConfigError) as caught:
        MNISTFamilyDataModule(**({"name": "fashion"} | {key: value}))
    assert f"data.{key}={value!r}" in str(caught.value) and allowed in str(caught.value)


class _TrainingBatches(L.Callback):
    """The images of every training batch as the model receives them (after the data module's transfer hooks)."""

    def __init__(self) -> None:
        self.images: list[torch.Tensor] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.images.append(batch[0].clone())


def _fit(datamodule, epochs: int, tmp_path: Path, ckpt_path: str | None = None) -> _TrainingBatches:
    seen = _TrainingBatches()
    torch.manual_seed(0)
    model = engine_for(BetaVAE, latent_dim=2, channels=[4], hidden_dim=8)
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, default_root_dir=tmp_path, callbacks=[seen])
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    return seen


@pytest.mark.parametrize("mode", ["dynamic", "static", "threshold"])
def test_binarized_splits_hold_only_black_and_white_pixels(make_datamodule, mode):
    datamodule = make_datamodule(binarize=mode)
    for split in ("val", "test"):
        assert set(datamodule.split(split).images.unique().tolist()) == {0, 255}
    assert datamodule.pixels_are_binary() and not make_datamodule().pixels_are_binary()
    ordered_train = all_batches(datamodule.ordered_dataloader("train"))[0]
    assert set(ordered_train.unique().tolist()) == {0.0, 1.0}


def test_dynamic_binarization_draws_each_epoch_afresh_and_resumes_exactly(make_datamodule, tmp_path):
    # batch_size 64 > the 58 training images: one batch per epoch holds the whole split, in a new order each epoch,
    # so the sum of its pixels changes only if the draws do (under `static` it stays fixed, see below).
    uninterrupted = _fit(make_datamodule(binarize="dynamic", batch_size=64), 3, tmp_path / "a").images
    assert all(set(images.unique().tolist()) == {0.0, 1.0} for images in uninterrupted)
    assert len({images.sum().item() for images in uninterrupted}) == 3
    grey_mean = make_datamodule().split("train").images.float().div(255).mean().item()
    assert torch.stack(uninterrupted).mean().item() == pytest.approx(grey_mean, abs=0.01)
    _fit(make_datamodule(binarize="dynamic", batch_size=64), 2, tmp_path / "b")
    after_two_epochs = next((tmp_path / "b").rglob("*.ckpt"))
    resumed = _fit(make_datamodule(binarize="dynamic", batch_size=64), 3, tmp_path / "c", str(after_two_epochs))
    assert len(resumed.images) == 1 and torch.equal(resumed.images[0], uninterrupted[2])


def test_static_binarization_gives_every_epoch_the_same_draw(make_datamodule, tmp_path):
    epochs = _fit(make_datamodule(binarize="static", batch_size=64, seed=3), 2, tmp_path).images
    assert torch.equal(epochs[0].sum(), epochs[1].sum())
    assert set(epochs[0].unique().tolist()) == {0.0, 1.0}


def test_binarize_needs_the_in_memory_loader(make_datamodule):
    with pytest.raises(ConfigError, match="data.binarize='dynamic'"):
        make_datamodule(binarize="dynamic", loader="torchvision")


@pytest.mark.parametrize("binarize", ["none", "dynamic", "static"])
def test_the_test_set_fingerprint_is_the_same_for_every_seed(make_datamodule, binarize):
    first, second = (make_datamodule(seed=seed, binarize=binarize) for seed in (0, 1))
    assert first.fingerprint("test") == second.fingerprint("test")
    assert first.fingerprint("train") != second.fingerprint("train")  # the seed carves another validation split
    assert torch.equal(first.split("test").images, second.split("test").images)  # scored on the same images


def test_the_fingerprints_tell_other_files_and_another_binarisation_apart(make_datamodule, tmp_path):
    other_root = tmp_path / "other"
    write_idx_dataset(other_root, n_train=N_TRAIN, n_test=N_TEST, seed=1)
    datamodule = make_datamodule()
    other_files = make_datamodule(root=str(other_root)).fingerprints()
    assert all(other_files[split] != value for split, value in datamodule.fingerprints().items())
    assert make_datamodule(binarize="threshold").fingerprint("test") != datamodule.fingerprint("test")
    assert make_datamodule().fingerprints() == datamodule.fingerprints()
