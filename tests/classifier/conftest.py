"""Shared fixtures: a small synthetic C-NMC folder and a briefly trained tiny checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier.data import Sample, samples_from_cnmc_folder
from classifier.splits import patient_split
from classifier.synthetic import write_cnmc_folder
from classifier.train import TrainConfig, TrainResult, main


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    # tests share a 2-core machine; one thread avoids spinning against other processes
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cell_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cells")
    write_cnmc_folder(root, n_patients=6, cells_per_patient=6, seed=3)
    return root


@pytest.fixture(scope="session")
def cell_samples(cell_folder: Path) -> list[Sample]:
    return samples_from_cnmc_folder(cell_folder)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, cell_samples: list[Sample]) -> TrainResult:
    """Two short tiny epochs: enough for non-trivial weights, calibration and metadata."""
    train, val = patient_split(cell_samples, val_fraction=0.34, seed=0)
    config = TrainConfig(
        profile="tiny",
        train=train,
        val=val,
        output=tmp_path_factory.mktemp("run"),
        epochs=2,
        max_steps=2,
        batch_size=8,
        threads=1,
    )
    return main(config)
