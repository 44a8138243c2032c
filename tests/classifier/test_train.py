from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from classifier.checkpoint import load_checkpoint
from classifier.data import Sample
from classifier.errors import ManifestError
from classifier.model import create_model, parameter_groups
from classifier.profiles import get_profile
from classifier.splits import patient_split
from classifier.train import EpochReport, TrainConfig, TrainResult, main
from classifier.transforms import to_input


def test_one_training_step_lowers_the_loss() -> None:
    torch.manual_seed(0)
    profile = get_profile("tiny")
    model = create_model(profile).train()
    x = to_input(torch.randint(0, 255, (8, 3, 64, 64), dtype=torch.uint8), profile)
    y = torch.tensor([0.0, 1.0] * 4)
    optimizer = torch.optim.Adam(parameter_groups(model, profile))
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def loss() -> torch.Tensor:
        return loss_fn(model(x).view(-1), y)

    before = loss()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    assert loss().item() < before.item()


def test_training_writes_a_complete_checkpoint(trained: TrainResult) -> None:
    data = load_checkpoint(trained.checkpoint, expected_profile="tiny")
    for key in (
        "model",
        "optimizer",
        "scheduler",
        "epoch",
        "profile",
        "class_names",
        "metrics",
        "data",
        "threshold",
        "temperature",
        "init",
    ):
        assert key in data, key
    assert data["init"] == "random" == trained.init
    assert data["class_names"] == ["hem", "all"]
    assert data["data"]["images"] == sum(data["data"]["per_class"].values())
    assert len(trained.sha256) == 64
    assert [h.epoch for h in trained.history] == [1, 2]
    assert 1 <= trained.best_epoch <= 2
    assert 0.0 <= trained.metrics["weighted_f1"] <= 1.0
    assert (trained.checkpoint.parent / "last.pt").is_file()
    assert not (trained.checkpoint.parent / "best.pt").exists()


def _config(samples: list[Sample], output: Path, epochs: int, **extra: object) -> TrainConfig:
    train, val = patient_split(samples, val_fraction=0.34, seed=0)
    return TrainConfig(
        profile="tiny",
        train=train,
        val=val,
        output=output,
        epochs=epochs,
        max_steps=2,
        batch_size=8,
        threads=1,
        **extra,
    )


def _weights(result: TrainResult) -> dict[str, torch.Tensor]:
    return load_checkpoint(result.checkpoint.parent / "last.pt")["model"]


def test_training_is_repeatable_and_resumable(tmp_path: Path, cell_samples: list[Sample]) -> None:
    # the resumed run's first epoch is a separate run: equality proves repeatability as well
    reports: list[EpochReport] = []
    straight = main(_config(cell_samples, tmp_path / "a", 2), on_epoch=reports.append)
    main(_config(cell_samples, tmp_path / "b", 1))
    resumed = main(_config(cell_samples, tmp_path / "b", 2, resume=True))
    assert [r.epoch for r in reports] == [1, 2]
    for key, value in _weights(straight).items():
        assert torch.equal(value, _weights(resumed)[key]), key
    assert [h.train_loss for h in resumed.history] == [h.train_loss for h in straight.history]


def test_patients_in_both_splits_are_refused(tmp_path: Path, cell_samples: list[Sample]) -> None:
    config = _config(cell_samples, tmp_path, 1)
    config = replace(config, val=config.val + config.train[:1])
    with pytest.raises(ManifestError, match="patients in both"):
        main(config)


def test_empty_training_set_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no training images"):
        main(TrainConfig(profile="tiny", train=[], val=[], output=tmp_path))
