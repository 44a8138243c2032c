"""Reader accuracy against known answers: the proportion right with a Wilson interval, and
Cohen's kappa with a large-sample 95% interval. Plain Python (the web process has no numpy)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from allreview.review.stats import Proportion, wilson_interval

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
    """Kappa of (answer, call) pairs over blast/normal/unsure, with a 95% interval: the Wilson
    bounds of the observed agreement put through kappa = (po - pe) / (1 - pe), chance agreement
    pe held fixed. Unlike kappa ± 1.96·SE, whose SE is 0 when every call is right, it stays
    honest at small counts and at the ends. None with fewer than two pairs or when chance
    agreement is certain."""
    n = len(pairs)
    if n < 2:
        return Kappa(None, None, None)
    agreed = sum(a == b for a, b in pairs)
    answers, calls = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(answers[c] * calls[c] for c in CALLS) / (n * n)
    if expected >= 1:
        return Kappa(None, None, None)

    def kappa(observed: float) -> float:
        return (observed - expected) / (1 - expected)

    observed = wilson_interval(agreed, n)
    low, high = observed.low or 0.0, observed.high or 0.0
    return Kappa(kappa(agreed / n), max(-1.0, kappa(low)), min(1.0, kappa(high)))


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
