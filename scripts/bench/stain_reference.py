"""C-NMC's colours for `smear.stain.REFERENCE`: the optical-density percentiles of the frames of
the classifier's training patients (`classifier.splits.patient_split`, so the reference leaves
out the patients a benchmark holds out). A script, not a `smear` command: `smear` does not
import the classifier.

    .venv/bin/python scripts/bench/stain_reference.py --data ../shared/data/cnmc
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])  # the repository, not scripts/bench

from classifier.data import samples_from_cnmc_folder  # noqa: E402
from classifier.splits import patient_split  # noqa: E402
from smear.stain import cnmc_stain_reference  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--split-seed", type=int, default=0)
    args = parser.parse_args()
    samples = samples_from_cnmc_folder(args.data)
    train, _ = patient_split(samples, val_fraction=args.val_fraction, seed=args.split_seed)
    stats = cnmc_stain_reference([Path(s.path) for s in train])
    print(json.dumps({"frames": len(train), "low": stats.low, "high": stats.high}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
