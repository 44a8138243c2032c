from __future__ import annotations

from pathlib import Path

import pytest

from smear.generate import SourceCell, sources_from_cnmc
from tests.paths import CNMC_DIR


@pytest.fixture(scope="session")
def cnmc_sources() -> list[SourceCell]:
    if not (CNMC_DIR / "labels.csv").exists():
        pytest.skip(f"real C-NMC cells not found at {CNMC_DIR}")
    return sources_from_cnmc(Path(CNMC_DIR))
