"""The benchmark scripts run as `python scripts/bench/NAME.py`, which puts scripts/bench first on
sys.path: a script named like a standard-library module (platform.py did) shadows it for every
script there, and they all fail at import."""

from __future__ import annotations

import sys

from tests.paths import REPO


def test_no_benchmark_script_shadows_a_standard_module() -> None:
    scripts = sorted((REPO / "scripts" / "bench").glob("*.py"))
    assert scripts
    shadowing = [p.name for p in scripts if p.stem in sys.stdlib_module_names]
    assert shadowing == []
