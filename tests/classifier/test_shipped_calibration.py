"""The `cpu` profile ships what its cross-validation measured: the recipe in the profile is the
one the committed CV run trained (docs/benchmarks/cv_cpu/cv.json), and the temperature and
threshold that `train` (no validation patients) and the platform's retraining use are the ones
that run fitted on every out-of-fold logit. A recipe changed without a new CV run fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.profiles import CPU

CV_REPORT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "cv_cpu" / "cv.json"
CALIBRATION = ("temperature", "threshold")


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads(CV_REPORT.read_text())


def test_the_cpu_profile_is_the_recipe_its_cross_validation_trained(report) -> None:
    assert report["profile"] == "cpu" and report["folds"] == 5
    trained = {k: v for k, v in report["recipe"].items() if k not in CALIBRATION}
    shipped = {k: v for k, v in CPU.to_dict().items() if k not in CALIBRATION}
    assert shipped == trained


def test_the_cpu_profile_ships_the_calibration_fitted_out_of_fold(report) -> None:
    assert CPU.temperature == pytest.approx(report["temperature"], abs=5e-4)
    assert CPU.threshold == pytest.approx(report["threshold"], abs=5e-4)
    # a real calibration, not the defaults a profile starts with
    assert (CPU.temperature, CPU.threshold) != (1.0, 0.5)
