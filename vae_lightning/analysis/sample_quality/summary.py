"""The sample-quality block of metrics.json as lines of summary.md."""

from typing import Any


def sample_quality_lines(block: dict[str, Any] | None) -> list[str]:
    """A short table of FID, precision, recall and class balance, each with its images; one line when skipped; none
    for an analysis written before sample quality was measured."""
    if block is None:
        return []
    if "skipped" in block:
        return ["", f"Sample quality not measured: {block['skipped']}."]
    network, reference = block["feature_network"], block["reference"]
    samples, balance = f"{block['num_samples']} samples vs {reference['num_images']} {reference['split']} images", \
        block["class_balance"]
    return [
        "",
        "## Sample quality",
        "",
        f"Features: the penultimate layer ({network['feature_dim']}-d) of the {network['dataset']} feature network, "
        f"a classifier trained on {network['training_data']['num_images']} training images only (test accuracy "
        f"{network['test_accuracy']:.4f}; `{network['file']}`).",
        *(["", f"**{network['warning']}**"] if network.get("warning") else []),
        "",
        "| quantity | value | samples, reference |",
        "|---|---|---|",
        f"| FID | {block['fid']:.2f} ± {block['fid_bootstrap_std']:.2f} (bootstrap std, "
        f"{block['bootstrap_resamples']} resamples) | {samples} |",
        f"| precision / recall (k = {block['knn_k']}) | {block['precision']:.3f} / {block['recall']:.3f} | {samples} |",
        f"| class entropy H(mean p(y\\|x)), nats (max {balance['samples']['max_entropy']:.3f}) | "
        f"{balance['samples']['class_entropy']:.3f} (test images: {balance['reference']['class_entropy']:.3f}) | "
        f"{samples} |",
        f"| mean per-sample entropy E[H(p(y\\|x))], nats | {balance['samples']['mean_sample_entropy']:.3f} (test "
        f"images: {balance['reference']['mean_sample_entropy']:.3f}) | {samples} |",
    ]


def sample_quality_digest(block: dict[str, Any] | None) -> list[str]:
    """The console's line of sample quality: FID with its error, precision and recall, and what they were measured
    on; the reason when it was skipped; nothing for an analysis without the block."""
    if block is None:
        return []
    if "skipped" in block:
        return [f"  sample quality not measured: {block['skipped']}"]
    return [f"  FID {block['fid']:.2f} ± {block['fid_bootstrap_std']:.2f} (bootstrap std), precision "
            f"{block['precision']:.3f}, recall {block['recall']:.3f} (k = {block['knn_k']}; {block['num_samples']:,} "
            f"samples vs as many {block['reference']['split']} images, {block['feature_network']['dataset']} "
            "feature network)"]


def render_sample_summary(metrics: dict[str, Any]) -> str:
    """summary.md of a model without an encoder: what it is and how good its samples are."""
    lines = [f"# Sample analysis: {metrics['dataset']}, {metrics['model'].rsplit('.', 1)[-1]}", "",
             f"Checkpoint `{metrics['checkpoint']}`, seed {metrics['seed']}. The model has no encoder: its latent "
             "space is not analysed.", *sample_quality_lines(metrics["sample_quality"])]
    return "\n".join(lines) + "\n"
