"""Hidden labels for the semi-supervised setting and the multi-domain data module (its domain probe included), on
tiny IDX files."""

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from tests.data_helpers import write_idx_dataset
from vae_lightning.analysis.metrics import encode_splits, probe_metrics, seeded_subset
from vae_lightning.data import MNISTFamilyDataModule, MultiDomainDataModule
from vae_lightning.data.base import HIDDEN_LABEL
from vae_lightning.models import BetaVAE

MNIST_TRAIN, FASHION_TRAIN, N_TEST = 40, 80, 20


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, folder="MNIST", n_train=MNIST_TRAIN, n_test=N_TEST, seed=1)
    write_idx_dataset(root, folder="FashionMNIST", n_train=FASHION_TRAIN, n_test=N_TEST, seed=2)
    return root


def _ready(datamodule):
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


@pytest.fixture
def fashion(data_root, tmp_path):
    def make(**overrides) -> MNISTFamilyDataModule:
        return _ready(MNISTFamilyDataModule(**({"name": "fashion", "root": str(data_root), "download": False,
                                           "cache_dir": str(tmp_path / "cache"), "val_fraction": 0.2} | overrides)))
    return make


@pytest.fixture
def multidomain(data_root, tmp_path):
    def make(**overrides) -> MultiDomainDataModule:
        return _ready(MultiDomainDataModule(**({"root": str(data_root), "download": False,
                                                "cache_dir": str(tmp_path / "cache")} | overrides)))
    return make


def _batch_labels(loader) -> torch.Tensor:
    return torch.cat([labels for _, labels in loader])


def test_a_labeled_fraction_keeps_that_share_of_each_class_and_hides_the_rest(fashion):
    datamodule = fashion(labeled_fraction=0.25)
    train = datamodule.split("train")
    for label in train.labels.unique():
        members = train.labels == label
        assert (~train.hidden[members]).sum() == max(1, round(int(members.sum()) * 0.25))
    seen = _batch_labels(datamodule.ordered_dataloader("train"))
    assert torch.equal(seen == HIDDEN_LABEL, train.hidden)
    assert torch.equal(seen[~train.hidden], train.labels[~train.hidden])
    assert (train.labels >= 0).all()  # analysis still sees the true labels


def test_validation_and_test_batches_keep_every_label(fashion):
    datamodule = fashion(labeled_fraction=0.1)
    for split in ("val", "test"):
        assert torch.equal(_batch_labels(datamodule.ordered_dataloader(split)), datamodule.split(split).labels)


def test_the_hidden_labels_follow_the_seed(fashion):
    first, again, other = (fashion(labeled_fraction=0.5, seed=seed).split("train").hidden for seed in (0, 0, 1))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_a_full_labeled_fraction_hides_nothing(fashion):
    assert not fashion().split("train").hidden.any()


def test_balanced_domains_contribute_equally_with_their_own_classes(multidomain):
    datamodule = multidomain(val_fraction=0.25)
    assert datamodule.domain_names == ("mnist", "fashion")
    assert len(datamodule.class_names) == 20 and datamodule.class_names[10].startswith("fashion:")
    assert datamodule.image_shape == (1, 28, 28)
    train, val, test = (datamodule.split(name) for name in ("train", "val", "test"))
    assert len(train) + len(val) == 2 * MNIST_TRAIN  # FashionMNIST cut down to MNIST's size
    assert torch.bincount(test.domains).tolist() == [N_TEST, N_TEST]
    for split in (train, val, test):
        assert ((split.labels >= 10) == (split.domains == 1)).all()


def test_without_balance_every_image_of_every_domain_is_used(multidomain):
    datamodule = multidomain(balance=False, val_fraction=0.25)
    assert len(datamodule.split("train")) + len(datamodule.split("val")) == MNIST_TRAIN + FASHION_TRAIN


def test_the_domain_can_be_the_label(multidomain):
    datamodule = multidomain(label="domain")
    assert datamodule.class_names == ("mnist", "fashion")
    for name in ("train", "test"):
        split = datamodule.split(name)
        assert torch.equal(split.labels, split.domains)


def test_the_domain_order_sets_the_domain_index(multidomain):
    datamodule = multidomain(domains=["fashion", "mnist"], label="domain")
    assert datamodule.domain_names == ("fashion", "mnist") and datamodule.class_names == ("fashion", "mnist")


def test_the_domain_probe_reads_the_domains_of_the_training_subset_it_encodes(multidomain):
    """A training split above probes.max_train_images is probed on a seeded subset; its domains must be that
    subset's, row for row, not the whole split's."""
    datamodule = multidomain(balance=False, val_fraction=0.25)
    model = BetaVAE(latent_dim=4, channels=[4, 8], hidden_dim=16).eval()
    encoded = encode_splits(model, datamodule, max_train_images=40, seed=0)
    train = datamodule.split("train")
    chosen = seeded_subset(len(train), 40, seed=0)
    assert torch.equal(encoded["train"].domains, train.domains[chosen])
    assert torch.equal(encoded["train"].labels, train.labels[chosen])
    probes = OmegaConf.create({"informative_kl": 0.1, "knn_k": 5})
    numbers = probe_metrics(datamodule, encoded["train"], encoded["test"], torch.ones(4), probes, seed=0)
    assert numbers["domain_probe"]["num_train"] == 40
    assert numbers["domain_probe"]["chance"] == pytest.approx(0.5)
    assert 0 <= numbers["domain_probe"]["accuracy"] <= 1
