"""The analysis's console digest: plain text, the headline numbers with their samples, and where the files are."""

from pathlib import Path

from vae_lightning.analysis.analysis_summary import render_analysis_digest


def _metrics(normalised: bool = True) -> dict:
    return {
        "dataset": "mnist", "latent_dim": 32, "beta": 1.0, "settings": {"latent_dim": 32, "beta": 1.0},
        "objective": {"split": "test", "num_images": 10000, "neg_elbo": 99.25, "recon": 77.62, "kl": 21.62},
        "iwae": {"neg_log_likelihood": 95.5, "standard_error": 0.61, "num_samples": 100, "num_images": 2000,
                 "elbo_iwae_gap": {"mean": 3.05, "standard_error": 0.05}},
        "active_units": {"count": 14},
        "linear_probe": {"chance": 0.1135, "accuracy": 0.9493, "accuracy_on_samples": 0.9067},
        "knn_probe": {"k": 5, "accuracy": 0.9712},
        "likelihood": {"normalised": normalised},
    }


def test_the_digest_names_the_headline_numbers_their_samples_and_the_folder():
    digest = render_analysis_digest(_metrics(), Path("/runs/r/analysis"), 14.3)
    lines = digest.splitlines()
    assert lines[0] == "Analysis of mnist, 32-d latent, β=1 in 14 s (test split):"
    assert "negative ELBO 99.25 nats/image = reconstruction 77.62 + KL 21.62 (10,000 images)" in digest
    assert "IWAE bound 95.50 ± 0.61, ELBO − IWAE gap 3.05 nats/image (K = 100, 2,000 images)" in digest
    assert "active units 14 of 32; linear probe on μ 0.949 (chance 0.114), on z 0.907; 5-NN 0.971" in digest
    assert lines[-1].endswith(": /runs/r/analysis") and len(lines) == 5
    assert not any(mark in digest for mark in ("**", "|", "`", "#"))


def test_the_digest_says_when_its_numbers_are_a_reconstruction_loss():
    digest = render_analysis_digest(_metrics(normalised=False), Path("out"), 20.0)
    assert "These are a reconstruction loss, not −log p(x): see summary.md." in digest


SAMPLE_QUALITY = {"fid": 12.345, "fid_bootstrap_std": 0.41, "precision": 0.71, "recall": 0.52, "knn_k": 3,
                  "num_samples": 10000, "reference": {"split": "test"}, "feature_network": {"dataset": "mnist"}}


def test_the_digest_gives_sample_quality_for_a_vae_and_for_a_model_without_an_encoder():
    line = ("  FID 12.35 ± 0.41 (bootstrap std), precision 0.710, recall 0.520 (k = 3; 10,000 samples vs as many test "
            "images, mnist feature network)")
    with_samples = render_analysis_digest({**_metrics(), "sample_quality": SAMPLE_QUALITY}, Path("out"), 20.0)
    assert with_samples.splitlines()[-2] == line
    gan = {"dataset": "mnist", "model": "vae_lightning.models.dcgan.DCGAN", "sample_quality": SAMPLE_QUALITY}
    assert render_analysis_digest(gan, Path("out"), 9.0).splitlines() == [
        "Analysis of DCGAN's samples on mnist in 9 s:", line,
        "Figures, metrics.json and summary.md (every number with its sample, each dimension): out"]
    skipped = render_analysis_digest({**gan, "sample_quality": {"skipped": "switched off"}}, Path("out"), 1.0)
    assert "  sample quality not measured: switched off" in skipped
