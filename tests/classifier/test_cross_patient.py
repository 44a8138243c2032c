"""The cross-patient recipe: stratified patient folds, the patient sampler, stain jitter,
profile overrides, the paper profile's init rule and `cv` end to end on synthetic cells."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from classifier.cli import main as cli_main
from classifier.data import PatientBalancedSampler, Sample
from classifier.errors import ProfileError, SplitError
from classifier.profiles import CPU, TINY, get_profile
from classifier.splits import patient_classes, patient_folds, patient_split, stratified_folds
from classifier.train import TrainConfig
from classifier.train import main as train_main
from classifier.transforms import stain_color_jitter


def _cohort() -> list[Sample]:
    """Like the C-NMC developer set: two huge healthy subjects and many tiny ones."""
    sizes = {"1": 300, "2": 200, "3": 80, "4": 10, "5": 2, "6": 1, "7": 1, "8": 1}
    sizes |= {"H10": 300, "H22": 300, "H11": 47, "H12": 10, "H13": 2, "H4": 1, "H15": 1}
    return [
        Sample(f"{p}_{i}.png", "hem" if p.startswith("H") else "all", p)
        for p, n in sizes.items()
        for i in range(n)
    ]


def test_folds_never_split_a_patient_and_spread_the_two_big_healthy_subjects() -> None:
    samples = _cohort()
    fold_of = patient_folds(samples, folds=5, seed=0)
    assert fold_of["H10"] != fold_of["H22"]
    per_fold = Counter(fold_of[p] for p, c in patient_classes(samples).items() if c == "hem")
    assert max(per_fold.values()) - min(per_fold.values()) <= 1
    folds = stratified_folds(samples, folds=5, seed=0)
    assert len({(s.patient, f) for s, f in zip(samples, folds, strict=True)}) == 15


def test_folds_say_clearly_when_a_class_has_too_few_patients() -> None:
    samples = [Sample(f"{p}", "all", p) for p in "12345"] + [Sample("h", "hem", "H1")]
    with pytest.raises(SplitError, match="'hem' patients cannot give"):
        stratified_folds(samples, folds=3, min_patients=1)


def test_split_keeps_every_class_on_both_sides() -> None:
    for seed in range(5):
        train, val = patient_split(_cohort(), val_fraction=0.2, seed=seed, min_patients=1)
        assert {s.label for s in train} == {s.label for s in val} == {"all", "hem"}
        assert not {s.patient for s in train} & {s.patient for s in val}


def test_patient_sampler_draws_classes_and_patients_evenly_not_cells() -> None:
    samples = _cohort()
    generator = torch.Generator().manual_seed(0)
    drawn = [samples[i] for i in PatientBalancedSampler(samples, generator)]
    assert len(drawn) == len(samples)
    labels = Counter(s.label for s in drawn)
    assert abs(labels["hem"] - labels["all"]) < 0.08 * len(drawn)
    patients = Counter(s.patient for s in drawn if s.label == "hem")
    # seven healthy patients, each about 1/7 of the healthy draws, whatever its size
    assert patients["H4"] > 0.6 * patients["H10"]


def test_patient_weight_power_moves_draws_from_patients_to_cells() -> None:
    samples = _cohort()
    hem = [s for s in samples if s.label == "hem"]

    def share_of_big_two(power: float) -> float:
        generator = torch.Generator().manual_seed(1)
        sampler = PatientBalancedSampler(samples, generator, power)
        drawn = [samples[i] for i in sampler if samples[i].label == "hem"]
        return sum(s.patient in ("H10", "H22") for s in drawn) / len(drawn)

    uniform_cells = sum(s.patient in ("H10", "H22") for s in hem) / len(hem)  # 600 / 661
    assert share_of_big_two(0.0) < 0.4  # two of seven patients
    assert 0.4 < share_of_big_two(0.5) < uniform_cells - 0.05  # between
    assert abs(share_of_big_two(1.0) - uniform_cells) < 0.03  # the class's cells alike
    with pytest.raises(ValueError, match="power"):
        PatientBalancedSampler(samples, torch.Generator(), 1.5)


def test_stain_jitter_changes_colour_but_never_the_black_background() -> None:
    torch.manual_seed(0)
    x = torch.zeros(4, 3, 16, 16)
    x[:, :, 4:12, 4:12] = torch.tensor([0.6, 0.3, 0.7]).view(1, 3, 1, 1)
    profile = dataclasses.replace(TINY, stain_jitter=1.0, color_jitter=1.0, blur=0.0)
    out = stain_color_jitter(x, profile)
    assert torch.all(out[:, :, :4, :] == 0) and torch.all(out[:, :, 12:, :] == 0)
    assert not torch.allclose(out[:, :, 4:12, 4:12], x[:, :, 4:12, 4:12], atol=1e-3)
    assert torch.all(out[:, :, 4:12, 4:12] > 0)
    assert torch.all((out >= 0) & (out <= 1))


def test_profile_overrides_change_one_field_and_refuse_nonsense() -> None:
    assert get_profile("cpu", {"sampler": "cells", "blur": "0"}) == dataclasses.replace(
        CPU, sampler="cells", blur=0.0
    )
    with pytest.raises(ProfileError, match="must be one of"):
        get_profile("cpu", {"sampler": "random"})
    with pytest.raises(ProfileError, match="expected a float"):
        get_profile("cpu", {"blur": "often"})
    with pytest.raises(ProfileError, match="not a profile field"):
        get_profile("cpu", {"colour": "1"})


def test_paper_profile_refuses_random_init_unless_asked(cell_samples: list[Sample]) -> None:
    config = TrainConfig(
        profile="paper", train=cell_samples, val=[], output=Path("/nonexistent"), epochs=1
    )
    with pytest.raises(ProfileError, match="--allow-random-init"):
        train_main(config)


def test_cv_scores_every_patient_out_of_fold_and_ships_a_model(
    tmp_path: Path, cell_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cv"
    args = ["cv", "--profile", "cpu", "--data", str(cell_folder), "--folds", "3"]
    args += ["--output", str(out), "--epochs", "1", "--threads", "1", "--bootstrap", "30"]
    args += ["--set", "batch_size=8", "--ship"]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "mean per-patient accuracy" in printed and "healthy patients" in printed
    assert "baseline all-blast weighted F1" in printed
    report = json.loads((out / "cv.json").read_text())
    assert len(report["per_fold"]) == 3 and report["pooled"]["count"] == 36
    assert report["pooled"]["patients"] == 6
    folds = (out / "folds.csv").read_text().splitlines()[1:]
    by_patient: dict[str, set[str]] = {}
    for row in folds:
        _, _, patient, fold = row.split(",")
        by_patient.setdefault(patient, set()).add(fold)
    assert all(len(f) == 1 for f in by_patient.values())
    assert len((out / "oof_predictions.csv").read_text().splitlines()) == 37
    assert (out / "patients.png").stat().st_size > 0
    shipped = torch.load(report["shipped"]["checkpoint"], map_location="cpu", weights_only=False)
    assert shipped["threshold"] == pytest.approx(report["threshold"])
    assert shipped["temperature"] == pytest.approx(report["temperature"])
    assert shipped["cv"]["folds"] == 3 and shipped["data"]["patients"] == 6


def test_grayscale_profile_feeds_luminance_only_in_training_and_prediction() -> None:
    from classifier.transforms import to_input

    crops = (torch.rand(2, 3, 8, 8) * 255).to(torch.uint8)
    profile = dataclasses.replace(TINY, grayscale=True, normalize=False)
    for jitter in (True, False):
        x = to_input(crops, profile, jitter=jitter)
        assert torch.allclose(x[:, 0], x[:, 1]) and torch.allclose(x[:, 1], x[:, 2])


def test_nt_xent_is_low_when_views_agree_and_high_when_they_do_not() -> None:
    from classifier.pretrain import nt_xent

    z = torch.eye(8) * 5
    assert nt_xent(z, z, 0.2) < nt_xent(z, z[torch.randperm(8)], 0.2)


def test_pretrain_writes_a_backbone_that_init_takes(
    tmp_path: Path, cell_folder: Path, cell_samples: list[Sample]
) -> None:
    out = tmp_path / "ssl.pt"
    args = ["pretrain", "--profile", "cpu", "--images", str(cell_folder), "--output", str(out)]
    assert cli_main([*args, "--epochs", "1", "--batch-size", "12", "--threads", "1"]) == 0
    result = train_main(
        TrainConfig(
            profile="cpu",
            train=cell_samples,
            val=[],
            output=tmp_path / "run",
            init=out,
            epochs=1,
            max_steps=1,
            batch_size=8,
            threads=1,
        )
    )
    assert result.init.startswith("ssl-simclr:")


def test_pretrain_refuses_a_folder_without_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["pretrain", "--images", str(tmp_path), "--output", str(tmp_path / "x.pt")]
    assert cli_main(args) == 2
    assert "at least two cell images" in capsys.readouterr().err


def test_cell_standardize_removes_a_patients_stain_but_keeps_structure():
    import dataclasses

    import torch

    from classifier.profiles import get_profile
    from classifier.transforms import standardize_cells, to_input

    torch.manual_seed(0)
    cell = torch.rand(1, 3, 32, 32) * 0.5 + 0.3
    cell[..., :4, :] = 0.0  # black background rows
    darker_bluer = cell * torch.tensor([0.7, 0.8, 1.1]).view(1, 3, 1, 1) + 0.02
    darker_bluer[..., :4, :] = 0.0
    a, b = standardize_cells(cell), standardize_cells(darker_bluer)
    assert torch.allclose(a, b, atol=2e-3)  # a linear stain change per channel is gone
    assert (a[..., :4, :] == 0).all()  # the background stays black
    assert a[..., 4:, :].std() > 0.1  # the structure inside the cell stays
    profile = dataclasses.replace(get_profile("cpu"), cell_standardize=True)
    batch = (torch.cat([cell, darker_bluer]) * 255).to(torch.uint8)
    inputs = to_input(batch, profile)
    assert torch.allclose(inputs[0], inputs[1], atol=0.05)
