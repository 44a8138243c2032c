"""Agreement between readers, and between the model and each reader: Cohen's kappa and the
override matrix, overall and per month."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

from django.db.models import F, Q
from sklearn.metrics import cohen_kappa_score

from allreview.cases.models import Label, LabelKind, LabelValue, Prediction
from allreview.projects.models import Project

MODEL = "model"


@dataclass
class Reads:
    """Newest label of each reader per cell, the model's call per cell, and when it was read."""

    labels: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    months: dict[int, date] = field(default_factory=dict)
    model: dict[int, str] = field(default_factory=dict)

    @property
    def readers(self) -> list[str]:
        return sorted({reader for values in self.labels.values() for reader in values})


def project_reads(*, project: Project) -> Reads:
    reads = Reads()
    rows = (
        Label.objects.filter(cell__case__project=project, kind=LabelKind.READ)
        .exclude(value="")
        .order_by("id")
        .values_list("cell_id", "user__username", "value", "created_at")
    )
    for cell_id, reader, value, created in rows:
        reads.labels[cell_id][reader] = value  # ascending ids: the newest wins
        reads.months[cell_id] = created.date().replace(day=1)
    calls = Prediction.objects.filter(
        Q(model_version=F("cell__case__model_version")), cell__case__project=project
    ).values_list("cell_id", "label")
    reads.model = dict(calls)
    return reads


def kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa over all four label values; None when undefined (too few or one value)."""
    if len(pairs) < 2:
        return None
    first, second = zip(*pairs, strict=True)
    value = cohen_kappa_score(first, second, labels=LabelValue.values)
    return None if math.isnan(value) else float(value)


def _pairs(reads: Reads, a: str, b: str, cells: list[int]) -> list[tuple[str, str]]:
    def call(cell: int, who: str) -> str | None:
        return reads.model.get(cell) if who == MODEL else reads.labels[cell].get(who)

    pairs = [(call(c, a), call(c, b)) for c in cells]
    return [(x, y) for x, y in pairs if x is not None and y is not None]


def agreement_rows(reads: Reads) -> list[dict[str, Any]]:
    """One row per pair (reader-reader and model-reader) and period ('all' and each month)."""
    cells = list(reads.labels)
    periods: dict[str, list[int]] = {"all": cells}
    for cell in cells:
        periods.setdefault(reads.months[cell].strftime("%Y-%m"), []).append(cell)
    pairs = [(MODEL, r) for r in reads.readers] + list(combinations(reads.readers, 2))
    rows = []
    for period, period_cells in periods.items():
        for a, b in pairs:
            matched = _pairs(reads, a, b, period_cells)
            if matched:
                rows.append(
                    {
                        "period": period,
                        "a": a,
                        "b": b,
                        "n": len(matched),
                        "kappa": kappa(matched),
                        "agree": sum(x == y for x, y in matched) / len(matched),
                    }
                )
    return rows


def override_matrix(reads: Reads, reader: str | None = None) -> dict[str, dict[str, int]]:
    """Counts of (model said X, reader said Y) over cells with both; all readers when None."""
    counts: Counter[tuple[str, str]] = Counter()
    for cell, values in reads.labels.items():
        call = reads.model.get(cell)
        if call is None:
            continue
        for who, value in values.items():
            if reader is None or who == reader:
                counts[(call, value)] += 1
    return {x: {y: counts[(x, y)] for y in LabelValue.values} for x in ("all", "hem")}
