"""Reads of reader QC: the cells a lead may choose as reference cells, the pool, the settings
and the per-reader figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from allreview.cases.models import CaseStatus, CellClass, Label, LabelKind
from allreview.projects.models import Project
from allreview.quality.models import (
    AnswerSource,
    QualitySettings,
    ReferenceCell,
    ReferenceLabel,
)
from allreview.quality.stats import ReaderFigures, reader_figures
from allreview.review.models import SignedCell, SignOff

CANDIDATES_SHOWN = 300


def quality_settings_get(*, project: Project) -> QualitySettings:
    """The project's settings, or the defaults (off) when nobody has set them."""
    found = QualitySettings.objects.filter(project=project).first()
    return found or QualitySettings(project=project)


@dataclass(frozen=True)
class Candidate:
    cell_id: int
    case_id: int
    patient_code: str
    answer: str
    source: str


def _signed_now() -> QuerySet[SignedCell]:
    """SignedCell rows of the newest sign-off of cases that are signed off now."""
    newest = SignOff.objects.filter(case_id=OuterRef("cell__case_id")).order_by("-id")
    return SignedCell.objects.filter(
        cell__case__status=CaseStatus.SIGNED_OFF,
        cell__is_reference=False,
        sign_off_id=Subquery(newest.values("id")[:1]),
        label__in=CellClass.values,
    )


def _adjudicated(cell_ids: list[int]) -> dict[int, str]:
    """cell id -> the newest adjudication's value, for cells that have one."""
    rows = (
        Label.objects.filter(cell_id__in=cell_ids, kind=LabelKind.ADJUDICATION)
        .exclude(value="")
        .order_by("id")
        .values_list("cell_id", "value")
    )
    return dict(rows)  # ascending ids: the newest wins


def answer_source(*, label: str, reads: dict[str, str], adjudicated: str | None) -> str | None:
    """How a signed final label was settled, if well enough to grade readers by: by an
    adjudication, or by two or more readers who all read it so; else None."""
    if adjudicated == label:
        return AnswerSource.ADJUDICATED
    if len(reads) >= 2 and all(v == label for v in reads.values()):
        return AnswerSource.AGREED
    return None


def reference_candidates(*, project: Project, limit: int = CANDIDATES_SHOWN) -> list[Candidate]:
    """Cells of the project's signed-off cases that may join the pool (newest cases first),
    not yet in it."""
    taken = ReferenceCell.objects.filter(project=project).values("cell_id")
    rows = list(
        _signed_now()
        .filter(cell__case__project=project)
        .exclude(cell_id__in=taken)
        .order_by("-cell__case_id", "cell_id")
        .values_list("cell_id", "cell__case_id", "cell__case__patient_code", "label", "reads")
    )
    adjudicated = _adjudicated([r[0] for r in rows])
    found: list[Candidate] = []
    for cell_id, case_id, patient, label, reads in rows:
        source = answer_source(label=label, reads=reads, adjudicated=adjudicated.get(cell_id))
        if source is not None:
            found.append(Candidate(cell_id, case_id, patient, label, source))
            if len(found) >= limit:
                break
    return found


def reference_pool(*, project: Project) -> QuerySet[ReferenceCell]:
    return (
        ReferenceCell.objects.filter(project=project)
        .select_related("cell__case", "chosen_by")
        .order_by("retired_at", "-chosen_at", "-id")
    )


def reference_reads(*, project: Project, username: str | None = None) -> list[ReferenceLabel]:
    """Each reader's call on each reference cell shown to them, as the newest sign-off of its
    case recorded it. With `username`, that reader's only."""
    rows = ReferenceLabel.objects.filter(placement__reference__project=project).select_related(
        "user"
    )
    if username is not None:
        rows = rows.filter(user__username=username)
    newest: dict[tuple[int, int], ReferenceLabel] = {}
    for row in rows.order_by("sign_off_id", "id"):
        newest[(row.placement_id, row.user_id)] = row  # ascending: the newest sign-off wins
    return list(newest.values())


def reader_quality(
    *, project: Project, floor: float, username: str | None = None
) -> list[ReaderFigures]:
    """Per reader: figures over all their reference reads, then per month of the read."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for row in reference_reads(project=project, username=username):
        name = row.user.get_username()
        pair = (row.answer, row.value)
        groups[(name, "all")].append(pair)
        groups[(name, row.read_at.strftime("%Y-%m"))].append(pair)
    return [
        reader_figures(reader, period, pairs, floor)
        for (reader, period), pairs in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][1] != "all", item[0][1])
        )
    ]
