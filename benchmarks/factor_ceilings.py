"""Each disentanglement metric's ceiling on dSprites' true factors, and DCI's two classifiers on the same codes.

The code is the true factors' values (a perfect code), then a random rotation of their standardised values (an
entangled code that keeps all the information). Every metric runs at disentanglement_lib's sample sizes with analysis
seed 0, as in the dSprites study, once with DCI by gradient boosting (the published protocol) and once by the random
forest; the DCI part of each is timed, so the forest's speed-up and its bias are read from the same run.

    python benchmarks/factor_ceilings.py [--dci-jobs 2]
"""

import argparse
import time
from collections.abc import Callable

import torch

from vae_lightning.analysis.disentanglement import FactorMetricSettings
from vae_lightning.analysis.disentanglement.ceilings import true_factor_ceilings
from vae_lightning.data.dsprites import DSPRITES_FACTORS

SCORES = (("MIG", "mig", "score"), ("DCI D", "dci", "disentanglement"), ("DCI C", "dci", "completeness"),
          ("DCI I", "dci", "informativeness_test"), ("SAP", "sap", "score"),
          ("FactorVAE score", "factor_vae_score", "score"), ("β-VAE score", "beta_vae_score", "score"))


def rotation(num_factors: int, seed: int) -> torch.Tensor:
    """A random orthogonal matrix (the Q of a seeded Gaussian matrix's QR)."""
    q, r = torch.linalg.qr(torch.randn(num_factors, num_factors, generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def start_recorder(starts: dict[str, float]) -> Callable[[str], None]:
    """A progress callback noting when each metric starts, by the first three letters of its line (DCI, SAP)."""
    return lambda line: starts.setdefault(line[:3], time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dci-jobs", type=int, default=1, help="processes for DCI's factors (-1: one per core)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = DSPRITES_FACTORS
    values = [torch.tensor(v, dtype=torch.float64) for v in space.values]
    means = torch.stack([v.mean() for v in values])
    stds = torch.stack([v.std(unbiased=False) for v in values])
    q = rotation(space.num_factors, args.seed)
    codes = {"true factors": lambda v: v, "random rotation": lambda v: ((v - means) / stds) @ q.T}
    lines = ["| code | DCI by | " + " | ".join(name for name, _, _ in SCORES) + " | DCI seconds |",
             "|---" * (len(SCORES) + 3) + "|"]
    for code_name, code in codes.items():
        for dci_model in ("gradient_boosting", "random_forest"):
            settings = FactorMetricSettings(dci_model=dci_model, dci_jobs=args.dci_jobs)
            starts: dict[str, float] = {}
            result = true_factor_ceilings(space, settings, args.seed, code,
                                          progress=start_recorder(starts))
            dci_seconds = starts["SAP"] - starts["DCI"]
            row = " | ".join(f"{result[metric][key]:.3f}" for _, metric, key in SCORES)
            lines.append(f"| {code_name} | {dci_model.replace('_', ' ')} | {row} | {dci_seconds:.0f} |")
            print(lines[-1], flush=True)
    print(f"\ndSprites' factor grid {space.sizes}; disentanglement_lib's sample sizes; seed {args.seed}; "
          f"DCI's factors in {args.dci_jobs} process(es).\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
