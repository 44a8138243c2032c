"""Checks on the shared real C-NMC cells; skipped where the folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.data import samples_from_cnmc_folder, samples_from_manifest
from classifier.splits import patient_split
from tests.paths import CNMC_DIR

CNMC = CNMC_DIR
pytestmark = pytest.mark.skipif(not (CNMC / "labels.csv").is_file(), reason="no C-NMC data")


def test_folder_and_manifest_agree_on_the_real_cells() -> None:
    by_folder = {(Path(s.path).name, s.label, s.patient) for s in samples_from_cnmc_folder(CNMC)}
    by_manifest = {
        (Path(s.path).name, s.label, s.patient) for s in samples_from_manifest(CNMC / "labels.csv")
    }
    assert by_folder == by_manifest
    assert len(by_folder) == 2224
    assert len({p for _, _, p in by_folder}) == 39


def test_real_split_is_patient_disjoint_with_both_classes() -> None:
    samples = samples_from_cnmc_folder(CNMC)
    train, val = patient_split(samples, val_fraction=0.25, seed=0)
    assert not {s.patient for s in train} & {s.patient for s in val}
    assert {s.label for s in val} == {"all", "hem"} == {s.label for s in train}
