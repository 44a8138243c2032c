"""Patient-grouped, class-stratified folds and splits: no patient on both sides, and every side
holds at least a stated number of patients of each class, or a SplitError says why not."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence

from classifier.data import CLASS_NAMES, Sample
from classifier.errors import SplitError


def patient_classes(samples: Sequence[Sample]) -> dict[str, str]:
    """Each patient's class: the label most of its cells carry (ties go to the blast class)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for sample in samples:
        counts[sample.patient][sample.label] += 1
    return {p: max(CLASS_NAMES, key=lambda c: (c_[c], c == "all")) for p, c_ in counts.items()}


def patient_folds(samples: Sequence[Sample], *, folds: int, seed: int = 0) -> dict[str, int]:
    """Fold index per patient. Per class, patients are shuffled by `seed`, then placed largest
    first: a large patient goes to the fold with the fewest cells of its class, a small one to
    the fold with the fewest patients of its class. So the few big patients spread over folds
    (two large healthy subjects never share one) and patient counts per class differ by <= 1."""
    if folds < 2:
        raise SplitError(f"need at least 2 folds, got {folds}")
    sizes = Counter(s.patient for s in samples)
    classes = patient_classes(samples)
    rng = random.Random(seed)
    fold_of: dict[str, int] = {}
    for label in CLASS_NAMES:
        patients = sorted(p for p, c in classes.items() if c == label)
        rng.shuffle(patients)
        patients.sort(key=lambda p: -sizes[p])  # stable: the shuffle orders equal sizes
        cells, count = [0] * folds, [0] * folds
        large = _large_cutoff(patients, sizes, folds)
        for patient in patients:
            by_cells = sizes[patient] >= large
            fold = min(
                range(folds),
                key=lambda f: (cells[f], count[f], f) if by_cells else (count[f], cells[f], f),  # noqa: B023
            )
            fold_of[patient] = fold
            cells[fold] += sizes[patient]
            count[fold] += 1
    return fold_of


def _large_cutoff(patients: list[str], sizes: Counter[str], folds: int) -> int:
    """Patients at least this large are balanced by cells; the rest by count."""
    total = sum(sizes[p] for p in patients)
    return max(2, total // (4 * folds))


def check_folds(samples: Sequence[Sample], fold_of: dict[str, int], *, min_patients: int) -> None:
    """SplitError unless every fold, and every fold's complement, has >= min_patients per class."""
    classes = patient_classes(samples)
    folds = sorted(set(fold_of.values()))
    for label in CLASS_NAMES:
        members = [p for p, c in classes.items() if c == label]
        for fold in folds:
            inside = sum(1 for p in members if fold_of[p] == fold)
            outside = len(members) - inside
            if min(inside, outside) < min_patients:
                raise SplitError(
                    f"{len(members)} {label!r} patients cannot give every one of {len(folds)} "
                    f"folds and its complement {min_patients} each (fold {fold}: {inside} in, "
                    f"{outside} out); use fewer folds or add patients of that class"
                )


def stratified_folds(
    samples: Sequence[Sample], *, folds: int, seed: int = 0, min_patients: int = 1
) -> list[int]:
    """Fold index per sample (see patient_folds), checked against `min_patients`."""
    fold_of = patient_folds(samples, folds=folds, seed=seed)
    check_folds(samples, fold_of, min_patients=min_patients)
    return [fold_of[s.patient] for s in samples]


def patient_split(
    samples: Sequence[Sample], *, val_fraction: float, seed: int = 0, min_patients: int = 1
) -> tuple[list[Sample], list[Sample]]:
    """Training and validation by patient, stratified by class: validation is one fold of
    round(1 / val_fraction) folds, so each side keeps >= `min_patients` of each class (a
    SplitError says when the data cannot). val_fraction 0 puts everything in training."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0.0:
        return list(samples), []
    folds = max(2, round(1 / val_fraction))
    fold_of = patient_folds(samples, folds=folds, seed=seed)
    check_folds(samples, fold_of, min_patients=min_patients)
    val_fold = random.Random(seed).randrange(folds)
    train = [s for s in samples if fold_of[s.patient] != val_fold]
    val = [s for s in samples if fold_of[s.patient] == val_fold]
    return train, val
