"""The dSprites study of docs/disentanglement.md as one command at a chosen budget: β-VAE (β = 1, 4), β-TCVAE
(β = 4) and FactorVAE (γ = 40) over seeds, each trained for `--steps` batches (`conf/experiment/dsprites_study.yaml`),
then one report that analyses every run with the same analysis seed, then each metric's ceiling on the true factors
at the same settings, printed and written beside the report (`<out>/report/ceilings.md`).

Finished runs are kept, so an interrupted study continues where it stopped. FactorVAE takes two optimiser steps per
batch and Lightning's max_steps counts both, so it gets 2 × `--steps`.

    python benchmarks/dsprites_study.py --steps 10000 --seeds 0 1 2 --out outputs/dsprites_study/steps-10000
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from vae_lightning.analysis.disentanglement import FactorMetricSettings
from vae_lightning.analysis.disentanglement.ceilings import true_factor_ceilings
from vae_lightning.data.dsprites import DSPRITES_FACTORS

OBJECTIVES = {  # name → its overrides, and the optimiser steps per batch
    "beta_vae": (["model=conv_vae", "model.beta=1,4"], 1),
    "beta_tcvae": (["model=beta_tcvae", "model.beta=4", 'hydra.sweep.subdir="model=beta_tcvae,model.beta=4,'
                    'seed=${seed}"'], 1),
    "factor_vae": (["model=factor_vae", "model.gamma=40", 'hydra.sweep.subdir="model=factor_vae,model.gamma=40,'
                    'seed=${seed}"'], 2),
}
ANALYSIS = "iwae.num_images=500,iwae.num_samples=50,iwae.convergence.num_images=20,traversal.num_base_images=3"
CEILINGS = (("MIG", "mig", "score"), ("DCI D", "dci", "disentanglement"), ("DCI C", "dci", "completeness"),
            ("DCI I", "dci", "informativeness_test"), ("SAP", "sap", "score"),
            ("FactorVAE score", "factor_vae_score", "score"), ("β-VAE score", "beta_vae_score", "score"))


def run(command: list[str]) -> None:
    print("$", " ".join(command), flush=True)
    if subprocess.run([sys.executable, *command[1:]], env=os.environ).returncode != 0:
        sys.exit("A step of the study failed; the message above says why. Rerunning this command continues it.")


def ceilings_table(dci_model: str, dci_jobs: int) -> str:
    """The five metrics on dSprites' true factors, at the analysis's default sizes and seed 0."""
    result = true_factor_ceilings(DSPRITES_FACTORS, FactorMetricSettings(dci_model=dci_model, dci_jobs=dci_jobs), 0)
    header = " | ".join(name for name, _, _ in CEILINGS)
    values = " | ".join(f"{result[metric][key]:.3f}" for _, metric, key in CEILINGS)
    return (f"Ceilings: the metrics of the true factors' values as the code (DCI by {dci_model.replace('_', ' ')}, "
            f"analysis seed 0)\n\n| {header} |\n" + "|---" * len(CEILINGS) + f"|\n| {values} |\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000, help="batches per run (default 10,000)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--objectives", nargs="+", choices=tuple(OBJECTIVES), default=list(OBJECTIVES))
    parser.add_argument("--out", required=True, help="the sweep folder every run and the report go to")
    parser.add_argument("--dci-model", choices=("gradient_boosting", "random_forest"), default="gradient_boosting")
    parser.add_argument("--dci-jobs", type=int, default=-1, help="processes for DCI's factors (default: one per core)")
    parser.add_argument("--threads", type=int, default=1, help="threads of the report's analyses")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    seeds = ",".join(map(str, args.seeds))
    for objective in args.objectives:
        overrides, steps_per_batch = OBJECTIVES[objective]
        run(["python", "-m", "vae_lightning.train", "-m", "experiment=dsprites_study", "analyze=false", *overrides,
             f"seed={seeds}", f"trainer.max_steps={args.steps * steps_per_batch}", f"hydra.sweep.dir={out}"])
    run(["python", "-m", "vae_lightning.report", f"sweep={out}", f"threads={args.threads}",
         f"analysis=[{ANALYSIS},factor_metrics.dci_model={args.dci_model},factor_metrics.dci_jobs={args.dci_jobs}]"])
    table = ceilings_table(args.dci_model, args.dci_jobs)
    (out / "report" / "ceilings.md").write_text(table)
    print(f"\n{table}\nThe study's tables: {out / 'report'}")


if __name__ == "__main__":
    main()
