"""The analysis numbers as a Markdown report saved beside the figures (summary.md), and as the few plain lines
`analyze` prints at its end: the headline numbers and where everything is."""

from pathlib import Path
from typing import Any

from vae_lightning.analysis.sample_quality.summary import (
    render_sample_summary,
    sample_quality_digest,
    sample_quality_lines,
)
from vae_lightning.models.contract import headline

# Terms of every model's objective that the table below shows in its own rows.
ELBO_TERMS = ("loss", "neg_elbo", "recon", "kl", "kl_per_dim", "bits_per_dim")


def render_analysis_summary(metrics: dict[str, Any]) -> str:
    """A short Markdown report; every line names the split and sample size behind its number."""
    if "objective" not in metrics:  # a model without an encoder: its samples only
        return render_sample_summary(metrics)
    elbo, iwae, units = metrics["objective"], metrics["iwae"], metrics["active_units"]
    linear, knn = metrics["linear_probe"], metrics["knn_probe"]
    likelihood = metrics["likelihood"]
    of_what = "−log p(x)" if likelihood["normalised"] else "the reconstruction loss (not −log p(x))"
    gap = iwae["elbo_iwae_gap"]
    same_images = f"{_split(iwae)} ({iwae['images']}), K = {iwae['num_samples']}"
    lines = [
        f"# Latent-space analysis: {metrics['dataset']}, {', '.join(_headline(metrics))}",
        "",
        f"Checkpoint `{metrics['checkpoint']}`, seed {metrics['seed']}.",
        "",
        f"Decoder `{likelihood['likelihood']}`: {likelihood['quantity']}.",
        *([] if likelihood["normalised"] else [
            "", "**These numbers are a reconstruction loss, not a likelihood**: the ELBO and IWAE rows are not "
            "bounds on −log p(x) and do not compare with published log-likelihoods (use data.binarize with the "
            "Bernoulli, or model.likelihood=continuous_bernoulli | discretized_logistic)."]),
        "",
        "| quantity | value | split, sample |",
        "|---|---|---|",
        f"| negative ELBO (nats/image) | {elbo['neg_elbo']:.2f} | {_split(elbo)}, 1 z per image |",
        f"| reconstruction term (nats/image) | {elbo['recon']:.2f} | {_split(elbo)} |",
        f"| KL(q(z\\|x) ‖ p(z)), the rate (nats/image) | {elbo['kl']:.2f} | {_split(elbo)} |",
        f"| IWAE bound on {of_what} (nats/image) | {_with_errors(iwae)} | {same_images} |",
        f"| negative ELBO on the same images and draws (nats/image) | {iwae['neg_elbo']:.2f} ± "
        f"{iwae['neg_elbo_standard_error']:.2f} (s.e.) | {same_images} |",
        f"| ELBO − IWAE gap, paired per image (nats/image) | {gap['mean']:.2f} ± {gap['standard_error']:.2f} (s.e.) | "
        f"{same_images} |",
        *_bits_rows(iwae, same_images),
        f"| active units (Cov(μ) > {units['threshold']:g}) | {units['count']} of {metrics['latent_dim']} | "
        f"{_split(units)} |",
        f"| linear probe accuracy on μ (chance {linear['chance']:.3f}) | {_accuracy(linear)} | "
        f"{_probe_sample(linear)} |",
        f"| linear probe accuracy on z ~ q(z\\|x) | {_accuracy(linear, 'accuracy_on_samples')} | "
        f"{_probe_sample(linear)} |",
        f"| linear probe accuracy on μ of the {len(linear['informative_dims'])} dims with KL > "
        f"{linear['informative_kl']:g} nats | {_accuracy(linear, 'accuracy_on_informative_dims')} | "
        f"{_probe_sample(linear)} |",
        f"| {knn['k']}-NN accuracy on μ | {_accuracy(knn)} | {_probe_sample(knn)} |",
    ]
    if "domain_probe" in metrics:
        domain = metrics["domain_probe"]
        lines.append(f"| linear probe of the domain ({', '.join(domain['domains'])}; chance {domain['chance']:.3f}) | "
                     f"{_accuracy(domain)} | {_probe_sample(domain)} |")
    lines += [f"| {description} | {elbo[name]:.3f} | {_split(elbo)} |"
              for name, description in metrics["term_descriptions"].items()
              if name not in ELBO_TERMS and isinstance(elbo.get(name), float)]
    lines += _factor_lines(metrics.get("factor_metrics"))
    lines += _convergence_lines(metrics["iwae_convergence"])
    lines += sample_quality_lines(metrics.get("sample_quality"))
    lines += [
        "",
        "## Dimensions, most informative first",
        "",
        "| dim | KL (nats) | Cov(μ) | active | mean step change | monotonicity |",
        "|---|---|---|---|---|---|",
    ]
    for row in metrics["traversal"]["per_dim"]:
        lines.append(
            f"| z{row['dim']} | {row['kl']:.3f} | {row['mu_variance']:.4f} | {'yes' if row['active'] else 'no'} | "
            f"{row['mean_step_change']:.4f} | {row['monotonicity']:.3f} |"
        )
    traversal = metrics["traversal"]
    lines += [
        "",
        f"Traversals: ±{traversal['range']:g} prior σ in {traversal['steps']} steps around the μ of "
        f"{traversal['num_base_images']} test images; step change is the mean absolute pixel change between adjacent "
        "steps, monotonicity 1 means every pixel changes in one direction across the sweep.",
    ]
    return "\n".join(lines) + "\n"


def render_analysis_digest(metrics: dict[str, Any], output_dir: Path, seconds: float) -> str:
    """The console's closing lines: plain text (no Markdown), each headline number with its sample, and the files.

    The full table, with every dimension, stays in summary.md, where a Markdown viewer renders it."""
    files = f"Figures, metrics.json and summary.md (every number with its sample, each dimension): {output_dir}"
    samples = sample_quality_digest(metrics.get("sample_quality"))
    if "objective" not in metrics:  # a model without an encoder: its samples only
        name = metrics["model"].rsplit(".", 1)[-1]
        return "\n".join([f"Analysis of {name}'s samples on {metrics['dataset']} in {seconds:.0f} s:", *samples, files])
    elbo, iwae, units = metrics["objective"], metrics["iwae"], metrics["active_units"]
    linear, knn = metrics["linear_probe"], metrics["knn_probe"]
    lines = [
        f"Analysis of {metrics['dataset']}, {', '.join(_headline(metrics))} in {seconds:.0f} s (test split):",
        f"  negative ELBO {elbo['neg_elbo']:.2f} nats/image = reconstruction {elbo['recon']:.2f} + KL "
        f"{elbo['kl']:.2f} ({elbo['num_images']:,} images)",
        f"  IWAE bound {iwae['neg_log_likelihood']:.2f} ± {iwae['standard_error']:.2f}, ELBO − IWAE gap "
        f"{iwae['elbo_iwae_gap']['mean']:.2f} nats/image (K = {iwae['num_samples']}, {iwae['num_images']:,} images)",
        f"  active units {units['count']} of {metrics['latent_dim']}; linear probe on μ {_accuracy(linear)} "
        f"(chance {linear['chance']:.3f}), on z {_accuracy(linear, 'accuracy_on_samples')}; "
        f"{knn['k']}-NN {_accuracy(knn)}",
    ]
    if not metrics["likelihood"]["normalised"]:
        lines.append("  These are a reconstruction loss, not −log p(x): see summary.md.")
    if (factors := metrics.get("factor_metrics")) is not None:
        lines.append(f"  MIG {factors['mig']['score']:.3f}, DCI disentanglement "
                     f"{factors['dci']['disentanglement']:.3f}, SAP {factors['sap']['score']:.3f}, FactorVAE score "
                     f"{factors['factor_vae_score']['score']:.3f}")
    return "\n".join([*lines, *samples, files])


def _factor_lines(factors: dict[str, Any] | None) -> list[str]:
    """The disentanglement metrics against the data's known factors, each with its sample size."""
    if factors is None:
        return []
    dci, factor_vae, beta_vae = factors["dci"], factors["factor_vae_score"], factors["beta_vae_score"]
    sample = f"factor grid samples, seed {factors['seed']}"
    return [
        "",
        f"## Disentanglement against the known factors ({', '.join(factors['factors'])})",
        "",
        f"Codes: {factors['codes']}; {factors['seconds']:.0f} s. Conventions follow disentanglement_lib "
        "(Locatello et al. 2019) except DCI's regressor (below).",
        "",
        "| metric | value | sample |",
        "|---|---|---|",
        f"| MIG | {factors['mig']['score']:.3f} | {factors['mig']['num_samples']} {sample}, "
        f"{factors['mig']['num_bins']} bins |",
        f"| DCI disentanglement / completeness / informativeness (test) | {dci['disentanglement']:.3f} / "
        f"{dci['completeness']:.3f} / {dci['informativeness_test']:.3f} | {dci['num_train']} + {dci['num_test']} "
        f"{sample}; {dci['regressor']} |",
        f"| SAP | {factors['sap']['score']:.3f} | {factors['sap']['num_train']} + {factors['sap']['num_test']} "
        f"{sample} |",
        f"| FactorVAE score | {factor_vae['score']:.3f} | {factor_vae['num_train']} + {factor_vae['num_eval']} "
        f"votes of {factor_vae['batch_size']} |",
        f"| β-VAE score | {beta_vae['score']:.3f} | {beta_vae['num_train']} + {beta_vae['num_eval']} batches "
        f"of {beta_vae['batch_size']} pairs |",
    ]
def _with_errors(iwae: dict[str, Any]) -> str:
    return (f"{iwae['neg_log_likelihood']:.2f} ± {iwae['standard_error']:.2f} (s.e. over images, incl. Monte Carlo "
            f"{iwae['mc_standard_error']:.3f})")


def _bits_rows(iwae: dict[str, Any], sample: str) -> list[str]:
    """Bits per dimension of the 8-bit image, for likelihoods of 8-bit pixels only."""
    if "bits_per_dim" not in iwae:
        return []
    bits = iwae["bits_per_dim"]
    return [f"| IWAE / negative ELBO in bits per dimension | {bits['neg_log_likelihood']:.4f} / {bits['neg_elbo']:.4f} "
            f"| {sample} |"]


def _convergence_lines(convergence: dict[str, Any]) -> list[str]:
    """The K-convergence check: the bound from the first K of one set of draws, and each step's paired change."""
    lines = ["", f"## IWAE convergence in K ({_split(convergence)}: {convergence['images']})", "",
             "| K | IWAE bound (nats/image) | change from the previous K, paired (nats/image) |", "|---|---|---|"]
    changes = [None, *convergence["change_from_previous_k"]]
    for k, value, error, change in zip(convergence["num_samples"], convergence["neg_log_likelihood"],
                                       convergence["standard_error"], changes, strict=True):
        step = "" if change is None else f"{change['mean']:+.3f} ± {change['standard_error']:.3f}"
        lines.append(f"| {k} | {value:.2f} ± {error:.2f} | {step} |")
    lines += ["", "A change that is still clearly below zero at the largest K means the bound has not converged: the "
              "reported IWAE number is biased upwards by at least that much, beyond its standard error."]
    return lines


def _accuracy(probe: dict[str, Any], key: str = "accuracy") -> str:
    return "n/a (one class, or no such dims)" if probe[key] is None else f"{probe[key]:.3f}"


def _probe_sample(probe: dict[str, Any]) -> str:
    return f"train on {probe['num_train']} train, test on {probe['num_test']} test"


def _split(entry: dict[str, Any]) -> str:
    return f"{entry['split']}, {entry['num_images']} images"


def _headline(metrics: dict[str, Any]) -> list[str]:
    """The model's defining settings; analyses written before `settings` was recorded hold β and the latent size."""
    return headline(metrics.get("settings") or {"latent_dim": metrics["latent_dim"], "beta": metrics["beta"]})
