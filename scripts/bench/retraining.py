"""Retraining cost: seconds per 1,000 labelled cells per epoch, per profile, on this machine.

    .venv/bin/python scripts/bench/retraining.py [--cells 1000] [--profiles tiny fast]

Trains one epoch of each profile on synthetic cells (the same code path as a platform run:
classifier.train.main with a patient-disjoint validation split) and prints the time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from classifier.data import samples_from_cnmc_folder  # noqa: E402
from classifier.splits import patient_split  # noqa: E402
from classifier.synthetic import write_cnmc_folder  # noqa: E402
from classifier.train import TrainConfig  # noqa: E402
from classifier.train import main as train_main  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--profiles", nargs="+", default=["tiny", "fast"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="allreview-bench-train-"))
    patients = 20
    write_cnmc_folder(
        work / "cells",
        n_patients=patients,
        cells_per_patient=args.cells // patients * 5 // 4,
        seed=7,
    )
    samples = samples_from_cnmc_folder(work / "cells")
    train, val = patient_split(samples, val_fraction=0.2, seed=7)
    print(f"{len(train)} training cells, {len(val)} validation cells ({len(samples)} in all)")
    for profile in args.profiles:
        start = time.perf_counter()
        result = train_main(
            TrainConfig(
                profile=profile, train=train, val=val, output=work / profile, epochs=1, device="cpu"
            )
        )
        seconds = time.perf_counter() - start
        epoch = result.history[0].seconds
        print(
            f"{profile}: one epoch {epoch:.1f} s ({epoch / len(train) * 1000:.1f} s per 1,000 cells), "
            f"whole run incl. data loading and calibration {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
