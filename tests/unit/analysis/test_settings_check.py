"""analyze.yaml's and report.yaml's numbers refused out of range, by key, before anything runs."""

from importlib import resources

import pytest
from omegaconf import OmegaConf

from vae_lightning.analysis.job import analysis_config, check_analysis_overrides
from vae_lightning.analysis.settings_check import ANALYZE_RANGES, REPORT_RANGES, check_ranges
from vae_lightning.errors import ConfigError


def test_the_shipped_defaults_are_within_range():
    check_ranges(analysis_config("<run>"), ANALYZE_RANGES, "analyze.yaml")
    report = OmegaConf.create(resources.files("vae_lightning.conf").joinpath("report.yaml").read_text())
    check_ranges(report, REPORT_RANGES, "report.yaml")


@pytest.mark.parametrize(("override", "allowed"), [
    ("threads=-2", "an integer ≥ 1, or null (torch's default, all cores)"),
    ("threads=0", "an integer ≥ 1"),
    ("iwae.num_samples=0", "an integer ≥ 1"),
    ("iwae.num_images=0", "or null (the whole test split)"),
    ("traversal.steps=1", "an integer ≥ 2"),
    ("traversal.range=0.0", "a number > 0"),
    ("probes.knn_k=-1", "an integer ≥ 1"),
    ("active_units.threshold=-0.5", "a number ≥ 0"),
    ("data.eval_batch_size=0", "an integer ≥ 1"),
])
def test_an_analysis_setting_out_of_range_is_refused_by_key(override, allowed):
    with pytest.raises(ConfigError, match="is not allowed") as refused:
        check_ranges(analysis_config("<run>", [override]), ANALYZE_RANGES, "analyze.yaml")
    assert str(refused.value).startswith(f"{override} is not allowed: it must be ") and allowed in str(refused.value)


def test_null_is_allowed_only_where_it_means_something():
    check_ranges(analysis_config("<run>", ["threads=null", "iwae.num_images=null"]), ANALYZE_RANGES, "analyze.yaml")
    with pytest.raises(ConfigError, match="iwae.num_samples=None is not allowed"):
        check_ranges(OmegaConf.create({"iwae": {"num_samples": None}}), {"iwae.num_samples": ANALYZE_RANGES[
            "iwae.num_samples"]}, "analyze.yaml")


def test_the_k_convergence_check_needs_positive_ks():
    with pytest.raises(ConfigError, match=r"iwae.convergence.num_samples=\[0, 10\] is not allowed"):
        check_ranges(analysis_config("<run>", ["iwae.convergence.num_samples=[0,10]"]), ANALYZE_RANGES,
                     "analyze.yaml")


def test_analysis_overrides_of_train_and_report_are_range_checked_up_front():
    with pytest.raises(ConfigError, match=r"In analysis=\[...\]: threads=-2 is not allowed"):
        check_analysis_overrides(["threads=-2"])


def test_a_report_setting_out_of_range_is_refused_by_key():
    report = OmegaConf.create({"threads": 2, "data": {"eval_batch_size": 10}, "traversal": {
        "dims": 0, "range": 3.0, "steps": 9}, "samples": {"count": 10}, "reconstructions": {"count": 10}})
    with pytest.raises(ConfigError, match="traversal.dims=0 is not allowed: it must be an integer ≥ 1. Every "
                                          "setting is described in vae_lightning/conf/report.yaml."):
        check_ranges(report, REPORT_RANGES, "report.yaml")
