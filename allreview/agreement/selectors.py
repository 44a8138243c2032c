"""Agreement between readers, and between the model and each reader: Cohen's kappa and the
override matrix, overall and per month."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery

from allreview.cases.models import Case, CaseStatus, Label, LabelKind, LabelValue, Prediction
from allreview.lib.users import AnyUser
from allreview.projects.models import Project
from allreview.review.models import SignedCell, SignOff
from allreview.review.selectors.reading import blinded_open_case_ids

MODEL = "model"


@dataclass
class Reads:
    """Newest read of each reader per cell, the model's call per cell, and its month."""

    labels: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    months: dict[int, date] = field(default_factory=dict)
    model: dict[int, str] = field(default_factory=dict)

    @property
    def readers(self) -> list[str]:
        return sorted({reader for values in self.labels.values() for reader in values})


def project_reads(*, project: Project, viewer: AnyUser | None = None) -> Reads:
    """Reads of the project's cells: a signed-off case as its newest sign-off recorded it
    (SignedCell: each labeller's newest read, the signed model version's call, the month of
    sign-off), an open case as it stands (newest reads, the case model's call, the month of
    the newest read). Open cases the viewer reads blinded are left out: comparing them would
    show the viewer the other reads."""
    reads = Reads()
    _signed_reads(reads, project)
    _open_reads(reads, project, viewer)
    return reads


def _signed_reads(reads: Reads, project: Project) -> None:
    newest_sign_off = (
        SignOff.objects.filter(case_id=OuterRef("cell__case_id")).order_by("-id").values("id")[:1]
    )
    rows = (
        SignedCell.objects.filter(
            cell__case__project=project,
            cell__case__status=CaseStatus.SIGNED_OFF,
            sign_off_id=Subquery(newest_sign_off),
        )
        .order_by("cell_id")
        .values_list("cell_id", "reads", "model_label", "sign_off__created_at")
    )
    for cell_id, cell_reads, model_label, signed_at in rows:
        if cell_reads:
            reads.labels[cell_id].update(cell_reads)
            reads.months[cell_id] = signed_at.date().replace(day=1)
        if model_label:
            reads.model[cell_id] = model_label


def _open_reads(reads: Reads, project: Project, viewer: AnyUser | None) -> None:
    cases = Case.objects.filter(project=project).exclude(status=CaseStatus.SIGNED_OFF)
    if viewer is not None:
        cases = cases.exclude(pk__in=blinded_open_case_ids(user=viewer))
    rows = (
        Label.objects.filter(cell__case__in=cases, cell__is_reference=False, kind=LabelKind.READ)
        .exclude(value="")
        .order_by("id")
        .values_list("cell_id", "user__username", "value", "created_at")
    )
    for cell_id, reader, value, created in rows:
        reads.labels[cell_id][reader] = value  # ascending ids: the newest wins
        reads.months[cell_id] = created.date().replace(day=1)
    calls = Prediction.objects.filter(
        Q(model_version=F("cell__case__model_version")),
        cell__case__in=cases,
        cell__is_reference=False,
    ).values_list("cell_id", "label")
    reads.model.update(calls)


def kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa over all four label values; None when undefined (too few or one value)."""
    if len(pairs) < 2:
        return None
    # Computed here rather than with scikit-learn, which would be the web process's only reason
    # to load scipy and scikit-learn (tens of MB): same definition as cohen_kappa_score(labels=).
    labels = set(LabelValue.values)
    kept = [(a, b) for a, b in pairs if a in labels and b in labels]
    n = len(kept)
    if n == 0:
        return None
    observed = sum(a == b for a, b in kept) / n
    firsts, seconds = Counter(a for a, _ in kept), Counter(b for _, b in kept)
    expected = sum(firsts[v] * seconds[v] for v in labels) / (n * n)
    if expected == 1:
        return None
    return float(1 - (1 - observed) / (1 - expected))


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
