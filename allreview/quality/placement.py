"""The two moments reader QC hooks into (see cases/standins.py): placing reference cells among
a new case's cells at upload, and recording what readers called them at sign-off."""

from __future__ import annotations

import math
import random
from functools import partial

from django.db.models import OuterRef, Subquery

from allreview.audit.services import audit_record
from allreview.cases.models import Case, Cell, Label, LabelKind
from allreview.cases.standins import StandIn
from allreview.quality.models import (
    QualitySettings,
    ReferenceCell,
    ReferenceLabel,
    ReferencePlacement,
)

_draw = random.SystemRandom()


def stand_ins_count(*, rate: float, n_own: int, available: int) -> int:
    """How many reference cells a case of `n_own` cells gets: rate × n_own on average (the
    fraction decides one more at random, so small cases get some too), at most `available`."""
    expected = rate * n_own
    count = math.floor(expected) + (1 if _draw.random() < expected - math.floor(expected) else 0)
    return max(0, min(count, available))


def _eligible(case: Case, hashes: frozenset[str]) -> list[ReferenceCell]:
    """Active reference cells of the case's project from other patients, one per image, none
    the same image as a cell of the new case."""
    pool = (
        ReferenceCell.objects.filter(project_id=case.project_id, retired_at__isnull=True)
        .exclude(cell__case__patient_code=case.patient_code)
        .exclude(cell__sha256__in=hashes)
        .select_related("cell")
        .order_by("id")
    )
    by_image: dict[str, ReferenceCell] = {}
    for reference in pool:
        by_image.setdefault(reference.cell.sha256, reference)
    return list(by_image.values())


def _stand_in(case: Case, reference: ReferenceCell) -> Cell:
    source = reference.cell
    # The stored files are shared, never copied: images are served only through views that
    # check membership, so the storage path (the source's case) is never shown.
    return Cell(
        case=case,
        image=source.image.name,
        thumbnail=source.thumbnail.name,
        sha256=source.sha256,
        size_bytes=source.size_bytes,
        width=source.width,
        height=source.height,
        image_format=source.image_format,
        original_name="",
        truth=source.truth,
        is_reference=True,
    )


def _placed(case: Case, reference: ReferenceCell, cell: Cell) -> None:
    ReferencePlacement.objects.create(stand_in=cell, reference=reference, case=case)


def stand_ins_provide(case: Case, hashes: frozenset[str], n_own: int) -> list[StandIn]:
    """The reference cells a new case gets, where its project has reader QC on."""
    settings = QualitySettings.objects.filter(project_id=case.project_id, enabled=True).first()
    if settings is None or n_own == 0:
        return []
    eligible = _eligible(case, hashes)
    count = stand_ins_count(rate=settings.rate, n_own=n_own, available=len(eligible))
    chosen = _draw.sample(eligible, count)
    return [StandIn(_stand_in(case, ref), partial(_placed, case, ref)) for ref in chosen]


def reference_reads_record(case: Case, sign_off_id: int) -> None:
    """At sign-off: each labeller's newest read of each reference cell shown in the case (a
    cleared read is no call). Audited once per sign-off, without cell ids: the case's trail
    must not say which of its cells were reference cells."""
    placements = ReferencePlacement.objects.filter(case=case).select_related("reference")
    by_cell = {p.stand_in_id: p for p in placements}
    if not by_cell:
        return
    newer = Label.objects.filter(
        cell_id=OuterRef("cell_id"), user_id=OuterRef("user_id"), kind=LabelKind.READ
    ).order_by("-id")
    newest = (
        Label.objects.filter(cell_id__in=by_cell, kind=LabelKind.READ)
        .filter(id=Subquery(newer.values("id")[:1]))
        .exclude(value="")
        .values_list("cell_id", "user_id", "value", "created_at")
    )
    rows = [
        ReferenceLabel(
            placement=by_cell[cell_id],
            sign_off_id=sign_off_id,
            user_id=user_id,
            value=value,
            answer=by_cell[cell_id].reference.answer,
            read_at=read_at,
        )
        for cell_id, user_id, value, read_at in newest
    ]
    ReferenceLabel.objects.bulk_create(rows)
    audit_record(
        action="quality.reads_recorded",
        project_id=case.project_id,
        after={"sign_off": sign_off_id, "reads": len(rows)},
    )
