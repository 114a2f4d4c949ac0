"""Each benchmark's main path on the tiny IDX dataset, as a user runs it: its report has every line and its figures
are positive finite numbers. Nothing here is timed."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TINY_RUN

NUMBER = r"([0-9][0-9,]*\.?[0-9]*)"


def run_benchmark(script: str, *options: str, cwd: Path) -> str:
    """Run `python benchmarks/<script> <options>` from `cwd` and return its stdout, failing on a non-zero exit.

    One thread: nothing here is timed, and a single thread does not stall when other work shares the cores.
    """
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / script), *options], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def figure(pattern: str, report: str) -> float:
    """The number captured by `pattern` in `report`, which must be positive and finite."""
    match = re.search(pattern, report)
    assert match, f"{pattern!r} not in the report:\n{report}"
    value = float(match.group(1).replace(",", ""))
    assert math.isfinite(value) and value > 0, (pattern, value)
    return value


def test_train_throughput_reports_rates_ratios_and_flop_rates(tiny_data_root, tmp_path):
    report = run_benchmark("train_throughput.py", f"--data-root={tiny_data_root}", "--batch-size=16", "--steps=12",
                           "--warmup=2", "--window=4", "--repeats=1", "--matmul-size=256", "--bf16", cwd=tmp_path)
    assert "medians of 2 windows of 4 steps from 1 interleaved repeats" in report
    for path in ("(a) bare PyTorch loop", "(b) vae_lightning (tensor loader)", "(c) vae_lightning (torchvision",
                 "(d) vae_lightning, bf16-mixed"):
        figure(re.escape(path) + r"[^\n]*?" + NUMBER + " images/s", report)
    for ratio in ("b/a", "b/c", "d/b"):
        figure(re.escape(ratio) + " = " + NUMBER, report)
    for path, dtype in (("a", "float32"), ("b", "float32"), ("d", "bfloat16")):
        figure(rf"\({path}\) trains at +{NUMBER} GFLOP/s", report)
        figure(rf"\({path}\) trains at [^\n]*{dtype} matmul rate measured now \({NUMBER} GFLOP/s\)", report)


def test_time_to_quality_trains_the_same_model_on_both_paths(tiny_data_root, tmp_path):
    report = run_benchmark("time_to_quality.py", f"--data-root={tiny_data_root}", "--batch-size=16",
                           "--max-epochs=2", "--threshold=1e9", cwd=tmp_path)
    bare, lightning = (figure(rf"{path} epoch 1: test −ELBO {NUMBER}", report) for path in ("bare", "lightning"))
    assert bare == lightning  # same seed, weights, batch order and noise: the framework changes only the time
    for path in ("bare", "lightning"):
        figure(rf"{path} +reached after 1 epochs, +{NUMBER} s of training", report)
    figure(r"lightning/bare training time = " + NUMBER, report)


def test_peak_memory_reports_a_row_per_batch_size_in_increasing_order(tmp_path):
    report = run_benchmark("peak_memory.py", "--batch-sizes", "64", "16", "--steps=1", cwd=tmp_path)
    rows = re.findall(r"^ +(\d+) +" + NUMBER + " +(-?[0-9.]+) +(-?[0-9.]+)$", report, flags=re.MULTILINE)
    assert [int(batch) for batch, *_ in rows] == [16, 64]
    peaks = [float(peak) for _, peak, _, _ in rows]
    assert all(math.isfinite(peak) and peak > 0 for peak in peaks) and peaks == sorted(peaks)


def test_step_overhead_reports_added_milliseconds_b_over_a_and_cpu_flags(tiny_data_root, tmp_path):
    report = run_benchmark("step_overhead.py", f"--data-root={tiny_data_root}", "--steps=12", "--ratio-steps=12",
                           "--warmup=2", "--window=4", "--repeats=1", "--ratio-batch-size=16", cwd=tmp_path)
    assert re.search(r"Precision (bf16-mixed|32-true) \(auto: [^)]+\); CPU capability \w+, flags: ", report)
    for model in ("Tiny model", "Default model"):
        section = report[report.index(model):]
        figure(r"bare PyTorch loop +" + NUMBER + " ms/step", section)
        figure(r"vae_lightning +" + NUMBER + " ms/step", section)
    assert re.search(r"added by the Lightning path: -?[0-9.]+ ms/step", report)
    calls = re.search(r"Python calls per step: bare (\d+), vae_lightning (\d+), added (-?\d+)", report)
    assert calls and int(calls[1]) > 0 and int(calls[3]) == int(calls[2]) - int(calls[1])
    figure(r"b/a = " + NUMBER, report)


def test_default_quality_reports_seeds_as_mean_and_sd_and_reuses_finished_runs(tiny_data_root, tmp_path):
    tiny = [arg for arg in TINY_RUN if not arg.startswith("data=")]
    options = ["--data", "fashion", "--seeds", "0", "1", "--precisions", "auto", "--vary", "optimizer.lr=1e-3,2e-3",
               "--out", str(tmp_path / "quality"), "--overrides", *tiny, f"data.root={tiny_data_root}"]
    report = run_benchmark("default_quality.py", *options, cwd=tmp_path)
    assert "fashion: test −ELBO and KL (nats/image), mean ± sd over seeds [0, 1]" in report
    rows = [line for line in report.splitlines() if line.startswith("| trainer.precision=")]
    assert [row.split(" | ")[0] for row in rows] == ["| trainer.precision=auto optimizer.lr=1e-3",
                                                     "| trainer.precision=auto optimizer.lr=2e-3"]
    figure(r"optimizer\.lr=2e-3 \| [^|]+ \| " + NUMBER + " ± " + NUMBER, report)
    assert rows[0].endswith("| 0.00 ± 0.00 |")  # the first row is the reference of the paired differences
    assert len(list((tmp_path / "quality" / "fashion").glob("*/seed-*/metrics.json"))) == 4
    again = run_benchmark("default_quality.py", *options, cwd=tmp_path)
    assert "+ -m vae_lightning.train" not in again and again.splitlines()[-2:] == report.splitlines()[-2:]


def test_vs_pythae_reports_both_fits_their_test_elbo_and_the_ratio(tiny_data_root, tmp_path):
    pytest.importorskip("pythae")
    report = run_benchmark("vs_pythae.py", f"--data-root={tiny_data_root}", "--batch-size=16", "--max-epochs=2",
                           "--repeats=2", cwd=tmp_path)
    assert "86 training images in memory, 2 epochs" in report and "medians of 2 interleaved repeats" in report
    assert re.search(r"CPU: .*flags: .*torch CPU capability \w+", report)
    assert re.search(r"ours trains in (bf16-mixed|32-true)( \(auto: [^)]+\))?; pythae in float32", report)
    for side in ("pythae", "ours"):
        figure(rf"{side} +fit +{NUMBER} s", report)
        figure(rf"{side} +fit [^\n]*test −ELBO {NUMBER} nats/image", report)
    figure(r"pythae/ours fit wall time = " + NUMBER, report)
    assert re.search(r"ours − pythae test −ELBO, same seed: [-+][0-9.]+, [-+][0-9.]+ \(median [-+][0-9.]+\)", report)
    assert re.search(r"pythae/ours wall time to the same test −ELBO = [0-9.]+|ours did not reach pythae's", report)


def test_vs_pythae_times_both_sides_to_a_binarised_iwae_target(tiny_data_root, tmp_path):
    pytest.importorskip("pythae")
    report = run_benchmark("vs_pythae.py", f"--data-root={tiny_data_root}", "--batch-size=16", "--max-epochs=3",
                           "--repeats=2", "--binarize=dynamic", "--measure=iwae", "--eval-images=8",
                           "--eval-samples=4", "--target=1e9", cwd=tmp_path)
    assert "dynamically binarised (test: one fixed draw)" in report
    assert "score: test IWAE bound (K = 4, 8 images)" in report
    for side in ("pythae", "ours"):
        figure(rf"{side} epoch 1: test IWAE bound \(K = 4, 8 images\) {NUMBER} after", report)
        assert f"{side} epoch 2:" not in report  # both stopped at the target, pythae's loop from its callback
        assert re.search(rf"{side} +per seed: [0-9.]+ s \(1 epochs\), [0-9.]+ s \(1 epochs\)", report)
        figure(rf"{side} +median wall time to the target +{NUMBER} s", report)
    figure(r"pythae/ours wall time to the target = " + NUMBER, report)


def test_eval_rate_reports_both_precisions_against_the_matmul_rate_and_the_bound_shift(tiny_data_root, tmp_path):
    report = run_benchmark("eval_rate.py", f"--data-root={tiny_data_root}", "--images=4", "--num-samples=4",
                           "--encode-batch=8", "--check-images=4", "--repeats=1", "--matmul-size=128", cwd=tmp_path)
    assert re.search(r"CPU: torch capability \w+, bfloat16 flags ", report)
    for dtype in ("float32", "bfloat16"):
        for path, unit in (("IWAE", "decoded samples/s"), ("encoder", "images/s")):
            figure(rf"{dtype} +{path} +{NUMBER} {unit}", report)
            figure(rf"{dtype} +{path} [^\n]*% of the {dtype} matmul rate measured now \({NUMBER} GFLOP/s\)", report)
        figure(rf"{dtype} +IWAE laid out for evaluation: {NUMBER}x the layers as trained \({NUMBER} decoded", report)
    for term in ("neg_log_likelihood", "neg_elbo"):
        assert re.search(rf"bfloat16 minus float32, {term}: [-+][0-9.]+ ± [0-9.]+ nats/image", report)
    assert re.search(r"within the analysis's tolerance of 0.05 nats: (True|False)", report)


def test_prior_cost_times_the_bound_under_the_mixture_and_under_the_standard_normal(tiny_data_root, tmp_path):
    report = run_benchmark("prior_cost.py", f"--data-root={tiny_data_root}", "--images=4", "--num-samples=4",
                           "--pseudo-inputs=8", "--repeats=1", cwd=tmp_path)
    assert re.search(r"CPU: torch capability \w+; 1 threads", report)
    figure(rf"under the mixture of 8 pseudo-inputs +{NUMBER} s", report)
    figure(rf"under N\(0, I\), the same network +{NUMBER} s", report)
    figure(rf"mixture / N\(0, I\): {NUMBER}x", report)
    under_mixture, under_standard_normal = re.findall(r"−log p̂ ([0-9.]+) nats/image", report)
    assert under_mixture != under_standard_normal  # the baseline really scores under the other prior


def test_optimizer_update_times_the_fused_and_the_per_tensor_adam_on_the_lightning_path(tiny_data_root, tmp_path):
    report = run_benchmark("optimizer_update.py", f"--data-root={tiny_data_root}", "--batch-size=16", "--steps=6",
                           "--repeats=1", cwd=tmp_path)
    for update in ("per-tensor", "fused"):
        figure(rf"Adam, {update} update +{NUMBER} s", report)
    figure(rf"per-tensor / fused = {NUMBER} \(of the medians\); median of the repeats. ratios {NUMBER}", report)
    per_tensor, fused = (float(loss) for loss in re.findall(r"training loss after the last step ([0-9.]+)", report))
    assert fused == pytest.approx(per_tensor, rel=1e-3)  # one algorithm, rounded differently


def test_analysis_timing_trains_analyses_and_reports_each_phase_and_the_probe_solvers(tiny_data_root, tmp_path):
    tiny = [arg for arg in TINY_RUN if not arg.startswith("data=")]
    small = ["iwae.num_samples=5", "iwae.num_images=20", "iwae.convergence.num_samples=[1,5]", "traversal.steps=5",
             "traversal.num_base_images=2", "interpolation.num_pairs=2", "samples.count=9"]
    options = ["--data-root", str(tiny_data_root), "--datasets", "fashion", "--out", str(tmp_path / "runs"),
               "--overrides", *tiny, "--analysis", *small]
    report = run_benchmark("analysis_timing.py", *options, "--repeats", "2", cwd=tmp_path)
    figure(r"fashion: analyze \S+ \([0-9]+ thread\(s\)\): median " + NUMBER + r" s wall, imports included \(each: "
           + NUMBER + ", " + NUMBER + r"\)", report)
    phases = [line.split(" | ")[0] for line in report.splitlines() if line.startswith("| ") and " | " in line]
    for phase in ("encoding", "objective terms", "IWAE bound", "sample quality", "probes and figures"):
        assert f"| {phase}" in phases
    figure(r"\| total of the phases \| " + NUMBER, report)
    for codes in ("μ", r"z ~ q\(z\|x\)"):
        accuracies = [float(row) for row in re.findall(rf"\| {codes} \| [^|]+ \| ([0-9.]+) \| [0-9.]+ \|", report)]
        assert len(accuracies) == 3 and all(0 <= accuracy <= 1 for accuracy in accuracies)
        assert accuracies[1] == pytest.approx(accuracies[2], abs=0.01)  # the warm start reaches the same optimum
    again = run_benchmark("analysis_timing.py", *options, cwd=tmp_path)
    assert "+ python -m vae_lightning.train" not in again  # the trained run is reused


def test_reproduce_prints_a_row_over_seeds_beside_its_published_figure_and_reuses_finished_runs(tiny_data_root,
                                                                                                 tmp_path):
    options = ["--data-root", str(tiny_data_root), "--tiny", "--epochs", "1", "--seeds", "0", "1",
               "--rows", "fashion_vamp", "--out", str(tmp_path / "reproduce"),
               "--overrides", "data.download=false", "callbacks.latent_panels.num_images=4",
               "callbacks.latent_panels.num_samples=4"]
    report = run_benchmark("reproduce.py", *options, cwd=tmp_path)
    assert "nats per image, mean ± sd over seeds [0, 1]" in report
    (row,) = [line for line in report.splitlines() if line.startswith("| fashion_")]
    assert row.startswith("| fashion_vamp | `data=fashion data.binarize=dynamic model=vamp`, 1 ± 0 epochs |")
    neg_elbo, iwae = (figure(r"\| fashion_vamp \|[^|]+\|" + r"[^|]*\|" * skip + rf" {NUMBER} ± ", report)
                      for skip in (0, 1))
    assert iwae <= neg_elbo  # the IWAE bound on the same draws never exceeds the −ELBO
    assert "none checked: Bauer & Mnih 2019" in row
    assert len(list((tmp_path / "reproduce").glob("*/seed-*/metrics.json"))) == 2
    again = run_benchmark("reproduce.py", *options, cwd=tmp_path)
    assert again.splitlines()[-3:] == report.splitlines()[-3:]  # finished runs and their evaluations are reused


def test_fid_rate_reports_the_extraction_rate_and_the_fid_time(tiny_data_root, tmp_path):
    report = run_benchmark("fid_rate.py", f"--data-root={tiny_data_root}", "--data=fashion", "--num-images=32",
                           "--bootstrap=5", "--batch-size=16", "--matmul-size=256", cwd=tmp_path)
    figure(r"feature extraction: " + NUMBER + " images/s", report)
    figure(r"= " + NUMBER + "% of the float32 matmul rate measured now", report)
    # On 32 images these take milliseconds and may print as 0.0 s: present and well-formed is what can be asked
    assert re.search(r"FID: [0-9.]+ s once; with its bootstrap \(5 resamples\) [0-9.]+", report), report
    assert re.search(r"precision and recall \(k = 3\): [0-9.]+ s", report), report
    assert re.search(r"FID on 32 samples, both feature sets and the bootstrap included: [0-9.]+ s", report), report
    assert re.search(r"the same in CPU seconds of this process: [0-9.]+ s", report), report
    assert re.search(r"sanity: FID\(train, test\) = [0-9.]+ ± [0-9.]+ \(bootstrap std\), precision [0-9.]+, recall",
                     report)


def test_generative_comparison_trains_each_model_and_prints_its_row_and_the_side_by_side_samples(tiny_data_root,
                                                                                                 tmp_path):
    tiny = ["data.download=false", "data.batch_size=16", "data.eval_batch_size=32", "trainer.max_epochs=1",
            "callbacks.latent_panels.num_images=4", "callbacks.latent_panels.num_samples=4"]
    options = ["--data-root", str(tiny_data_root), "--data", "fashion", "--budget", "own", "--epochs", "dcgan=1",
               "ddpm=1", "vae=1", "--models", "vae", "dcgan", "ddpm", "--seeds", "0", "--num-samples", "20",
               "--tiny", "--out", str(tmp_path / "comparison"), "--overrides", *tiny]
    report = run_benchmark("generative_comparison.py", *options, cwd=tmp_path)
    rows = {line.split(" | ")[0][2:]: line for line in report.splitlines() if line.startswith("| ")}
    assert {"vae", "dcgan", "ddpm"} <= set(rows)
    for model in ("vae", "dcgan", "ddpm"):
        figure(rf"\| {model} \| 1 epochs, [0-9]+ steps \(seed 0\) \| {NUMBER} \| {NUMBER} ± {NUMBER} \(bootstrap\) \| "
               rf"{NUMBER} \| {NUMBER} \|", report)
    assert "IWAE" in rows["vae"] and "bits/dim (bound)" in rows["ddpm"] and "a GAN has no likelihood" in rows["dcgan"]
    assert (tmp_path / "comparison" / "fashion" / "own" / "samples_side_by_side.png").stat().st_size > 0
    again = run_benchmark("generative_comparison.py", *options, cwd=tmp_path)
    assert "+ python -m vae_lightning.train" not in again  # finished runs are reused
