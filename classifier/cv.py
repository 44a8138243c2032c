"""Patient-grouped, class-stratified K-fold cross-validation of a profile, and the recipe's
calibration chosen from it: what `python -m classifier cv` runs.

Each fold trains on the other folds' patients for the profile's fixed epoch count (the final
epoch is kept: the held-out fold is watched for curves and chooses nothing). Temperature and
threshold for fold k are fitted on the out-of-fold logits of the *other* folds (cross-fitting),
so no figure is scored on the patients that chose it. With `ship`, a last model is trained on
every patient with the temperature and threshold fitted on all out-of-fold logits."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit, logit

from classifier.data import Sample
from classifier.metrics import (
    DEFAULT_FLAG_THRESHOLD,
    bootstrap_intervals,
    choose_threshold,
    compute_metrics,
    fit_temperature,
)
from classifier.profiles import Profile, get_profile
from classifier.splits import stratified_folds
from classifier.train import TrainConfig, TrainResult
from classifier.train import main as train_main


@dataclass
class CVConfig:
    profile: str
    samples: list[Sample]
    output: Path
    folds: int = 5
    seed: int = 0
    min_patients: int = 1  # per class, in every fold and its complement
    epochs: int | None = None
    init: Path | None = None
    allow_random_init: bool = False
    device: str = "auto"
    threads: int | None = None
    progress: bool = False
    flag_threshold: float = DEFAULT_FLAG_THRESHOLD
    bootstrap: int = 1000
    ship: bool = False
    profile_overrides: dict[str, str] = field(default_factory=dict)


@dataclass
class FoldOutcome:
    fold: int
    patients: list[str]
    targets: list[int]
    logits: list[float]  # mean over rotations, uncalibrated
    history: list[dict[str, Any]]
    seconds: float


@dataclass
class CVResult:
    profile: str
    folds: int
    temperature: float  # fitted on all out-of-fold logits: what a shipped model uses
    threshold: float
    per_fold: list[dict[str, float]]
    summary: dict[str, dict[str, float]]  # metric -> mean, sd over folds
    pooled: dict[str, Any]  # every out-of-fold cell, cross-fitted calibration
    intervals: dict[str, list[float]]  # patient-level bootstrap 95% of the pooled figures
    shipped: dict[str, Any] = field(default_factory=dict)
    # the recipe as trained (overrides and the epoch count applied): what a profile that ships
    # this calibration must be (tests/classifier/test_shipped_calibration.py)
    recipe: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


def run_cv(config: CVConfig, on_fold: Callable[[int, int], None] | None = None) -> CVResult:
    profile = get_profile(config.profile, config.profile_overrides)
    fold_of = stratified_folds(
        config.samples, folds=config.folds, seed=config.seed, min_patients=config.min_patients
    )
    config.output.mkdir(parents=True, exist_ok=True)
    _write_folds(config.output / "folds.csv", config.samples, fold_of)
    outcomes = []
    for k in range(config.folds):
        outcomes.append(_fold(config, k, fold_of))
        if on_fold is not None:
            on_fold(k + 1, config.folds)
    result = _score(config, profile, outcomes)
    trained = replace(profile, epochs=config.epochs) if config.epochs else profile
    result.recipe, result.seed = trained.to_dict(), config.seed
    if config.ship:
        result.shipped = _ship(config, result)
    _write_json(config.output / "cv.json", _as_json(result))
    _write_oof(config.output / "oof_predictions.csv", outcomes, result)
    return result


def _fold(config: CVConfig, k: int, fold_of: list[int]) -> FoldOutcome:
    """Train fold k (or reuse its saved outcome: an interrupted CV resumes by fold)."""
    folder = config.output / f"fold{k}"
    saved = folder / "outcome.json"
    if saved.is_file():
        return FoldOutcome(**json.loads(saved.read_text()))
    train = [s for s, f in zip(config.samples, fold_of, strict=True) if f != k]
    held = [s for s, f in zip(config.samples, fold_of, strict=True) if f == k]
    result = train_main(
        _train_config(config, train=train, val=held, output=folder, seed=config.seed * 100 + k)
    )
    outcome = FoldOutcome(
        fold=k,
        patients=[s.patient for s in held],
        targets=[s.target for s in held],
        logits=result.val_logits,
        history=[h.__dict__ for h in result.history],
        seconds=sum(h.seconds for h in result.history),
    )
    _write_json(saved, outcome.__dict__)
    (folder / "last.pt").unlink(missing_ok=True)  # the fold's model.pt is all that is kept
    return outcome


def _train_config(config: CVConfig, **varying: Any) -> TrainConfig:
    """A fold's or the shipped model's training: the recipe's fixed epochs, the last one kept,
    calibration never fitted on the patients it is given to watch."""
    return TrainConfig(
        profile=config.profile,
        init=config.init,
        epochs=config.epochs,
        device=config.device,
        progress=config.progress,
        threads=config.threads,
        select="last",
        calibrate_on_val=False,
        allow_random_init=config.allow_random_init,
        profile_overrides=config.profile_overrides,
        **varying,
    )


def _calibration(logits: np.ndarray, targets: np.ndarray, profile: Profile) -> tuple[float, float]:
    temperature = fit_temperature(logits, targets)
    threshold = choose_threshold(
        targets,
        expit(logits / temperature),
        objective=profile.threshold_objective,
        sensitivity_floor=profile.sensitivity_floor,
    )
    return temperature, threshold


def _score(config: CVConfig, profile: Profile, outcomes: list[FoldOutcome]) -> CVResult:
    per_fold, scores, targets, patients = [], [], [], []
    for outcome in outcomes:
        others = [o for o in outcomes if o is not outcome]
        z_other = np.concatenate([o.logits for o in others])
        y_other = np.concatenate([o.targets for o in others])
        temperature, threshold = _calibration(z_other, y_other, profile)
        probs = expit(np.asarray(outcome.logits) / temperature)
        metrics = compute_metrics(
            outcome.targets,
            probs,
            threshold=threshold,
            patients=outcome.patients,
            flag_threshold=config.flag_threshold,
        )
        per_fold.append({"fold": outcome.fold, **metrics.scalars()})
        # shift each fold's scores so its own threshold sits at 0.5: pooled figures then use
        # every fold's cross-fitted decision, and the pooled AUC ranks cross-fitted scores
        scores.append(expit(logit(np.clip(probs, 1e-7, 1 - 1e-7)) - logit(threshold)))
        targets += outcome.targets
        patients += outcome.patients
    pooled_scores = np.concatenate(scores)
    pooled = compute_metrics(
        targets,
        pooled_scores,
        threshold=0.5,
        patients=patients,
        flag_threshold=config.flag_threshold,
    )
    all_z = np.concatenate([o.logits for o in outcomes])
    temperature, threshold = _calibration(all_z, np.asarray(targets), profile)
    return CVResult(
        profile=profile.name,
        folds=len(outcomes),
        temperature=temperature,
        threshold=threshold,
        per_fold=per_fold,
        summary=_mean_sd(per_fold),
        pooled={
            **pooled.scalars(),
            "confusion": pooled.confusion,
            "per_patient_accuracy": pooled.per_patient_accuracy,
        },
        intervals=bootstrap_intervals(
            targets,
            pooled_scores,
            patients,
            threshold=0.5,
            rounds=config.bootstrap,
            seed=config.seed,
        ),
    )


def _mean_sd(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = [k for k in rows[0] if k != "fold"]
    out = {}
    for key in keys:
        values = np.asarray([r[key] for r in rows], dtype=float)
        if np.all(np.isnan(values)):
            continue
        out[key] = {"mean": float(np.nanmean(values)), "sd": float(np.nanstd(values, ddof=1))}
    return out


def _ship(config: CVConfig, result: CVResult) -> dict[str, Any]:
    """Train on every patient with the CV-chosen calibration: the model a lab deploys."""
    shipped: TrainResult = train_main(
        _train_config(
            config,
            train=list(config.samples),
            val=[],
            output=config.output / "shipped",
            seed=config.seed,
            temperature=result.temperature,
            threshold=result.threshold,
            extra_metadata={
                "cv": {
                    "summary": result.summary,
                    "pooled": _scalars(result.pooled),
                    "intervals": result.intervals,
                    "folds": result.folds,
                }
            },
        )
    )
    return {"checkpoint": str(shipped.checkpoint), "sha256": shipped.sha256}


def _scalars(data: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in data.items() if isinstance(v, int | float)}


def _as_json(result: CVResult) -> dict[str, Any]:
    return {**result.__dict__}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def _write_folds(path: Path, samples: list[Sample], fold_of: list[int]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "patient", "fold"])
        for sample, fold in zip(samples, fold_of, strict=True):
            writer.writerow([sample.path, sample.label, sample.patient, fold])


def _write_oof(path: Path, outcomes: list[FoldOutcome], result: CVResult) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fold", "patient", "label", "logit"])
        for o in outcomes:
            for patient, target, z in zip(o.patients, o.targets, o.logits, strict=True):
                writer.writerow([o.fold, patient, "all" if target else "hem", f"{z:.6f}"])
