"""Segmentation of whole smear fields (issue 14): detection recall/precision at IoU 0.5 and mean
mask IoU on generated fields (held-out seeds), and the time to segment a 2,592x1,944 field on one
core against the bare decode of the same JPEG.

    .venv/bin/python scripts/bench/fields_segment.py --data ../shared/data/cnmc --fields 20
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core: no hidden BLAS threads
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smear.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
