"""Where the tests find the repository and the shared real C-NMC cells (no Django here: the
classifier's tests use it too)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# CNMC_DIR overrides; tests that need the real cells skip when they are absent.
CNMC_DIR = Path(os.environ.get("CNMC_DIR", REPO.parent / "shared" / "data" / "cnmc"))
