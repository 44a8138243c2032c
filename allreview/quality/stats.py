"""Reader accuracy against known answers: the proportion right with a Wilson interval, and
Cohen's kappa with a large-sample 95% interval. Plain Python (the web process has no numpy)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from allreview.review.stats import Z_95, Proportion, wilson_interval

ANSWERS = ("all", "hem")  # what a reference cell is
CALLS = ("all", "hem", "unsure")  # what a reader said; an artifact call counts as no class
CALL_NAMES = {"all": "blast", "hem": "normal", "unsure": "unsure"}


def call_of(value: str) -> str:
    return value if value in ANSWERS else "unsure"


@dataclass(frozen=True)
class Kappa:
    estimate: float | None
    low: float | None
    high: float | None


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> Kappa:
    """Kappa of (answer, call) pairs over blast/normal/unsure, with the interval
    kappa ± 1.96·SE, SE = sqrt(po(1-po) / (n(1-pe)²)) (Cohen 1960), clipped to [-1, 1].
    Undefined (None) with fewer than two pairs or when chance agreement is certain."""
    n = len(pairs)
    if n < 2:
        return Kappa(None, None, None)
    observed = sum(a == b for a, b in pairs) / n
    answers, calls = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(answers[c] * calls[c] for c in CALLS) / (n * n)
    if expected >= 1:
        return Kappa(None, None, None)
    kappa = (observed - expected) / (1 - expected)
    se = math.sqrt(observed * (1 - observed) / (n * (1 - expected) ** 2))
    return Kappa(kappa, max(-1.0, kappa - Z_95 * se), min(1.0, kappa + Z_95 * se))


@dataclass(frozen=True)
class ReaderFigures:
    reader: str
    period: str  # "all" or "YYYY-MM"
    accuracy: Proportion
    kappa: Kappa
    confusion: list[list[int]]  # rows: answer blast, normal; columns: call blast, normal, unsure
    below_floor: bool

    @property
    def n(self) -> int:
        return self.accuracy.total


def reader_figures(
    reader: str, period: str, pairs: Sequence[tuple[str, str]], floor: float
) -> ReaderFigures:
    """Figures from (answer, reader's label value) pairs."""
    called = [(answer, call_of(value)) for answer, value in pairs]
    counts = Counter(called)
    accuracy = wilson_interval(sum(a == c for a, c in called), len(called))
    return ReaderFigures(
        reader=reader,
        period=period,
        accuracy=accuracy,
        kappa=cohen_kappa(called),
        confusion=[[counts[(a, c)] for c in CALLS] for a in ANSWERS],
        below_floor=accuracy.estimate is not None and accuracy.estimate < floor,
    )
