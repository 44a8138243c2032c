"""Reads on cases as uploaded and classified (what a user may see starts at `cases.access`)."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Count,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from allreview.cases.models import Case, Cell
from allreview.mlmodels.selectors import model_version_production
from allreview.projects.models import Project
from classifier.crops import CropGeometry
from classifier.profiles import DEFAULT_PROFILE, PROFILES


def count_per_case(queryset: QuerySet[Any], *, distinct: bool = False) -> Coalesce:
    """A correlated count of the queryset's rows for the outer case: one subquery per column,
    so list pages stay one query. `distinct` counts cells once when the filter joins labels."""
    counted = (
        queryset.order_by().values("case_id").annotate(n=Count("id", distinct=distinct)).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# Reader QC's known-answer cells (Cell.is_reference) are shown to a case's readers but are never
# part of the case: every figure, record and export reads only the case's own cells.
OWN_CELLS = Q(is_reference=False)


def shown_cells(*, case: Case, stand_ins: bool = False) -> QuerySet[Cell]:
    """The case's own cells, and with `stand_ins` (ReadingView.stand_ins) the known-answer
    cells placed among them, which its readers see like any other."""
    cells = Cell.objects.filter(case=case)
    return cells if stand_ins else cells.filter(OWN_CELLS)


def model_input_geometry(*, project: Project | int) -> CropGeometry | None:
    """The input the project's cases will be classified with, to prepare at upload: its
    production model's profile, else the default profile (what a first model is trained
    with). A later model of another geometry still works: it decodes the originals."""
    version = model_version_production(project=project)
    profile = PROFILES.get(version.profile if version else DEFAULT_PROFILE)
    return profile.crop_geometry if profile else None


# --- Review workspace -------------------------------------------------------------------------
# A Label row with the blank value ("cleared", written only by undo) means "unreviewed again":
# these selectors treat it as no label.


# --- Several readers, blinding and adjudication --------------------------------------------------
# A case with two or more assigned readers (CaseReader rows) is double-read: each reader's newest
# read counts separately, only they may label it, and where their reads differ the cell is
# disputed until an adjudicator's call (a Label of kind 'adjudication') settles it. A case with
# one reader or none keeps the single-read rule: the newest label is the cell's label.


# --- The signed record ----------------------------------------------------------------------------
# What a sign-off recorded per cell (review.SignedCell). Exports, agreement and retraining read
# these rows: the live labels can change after a reopen, the record of a sign-off cannot.


def case_upload_warnings(*, case: Case) -> list[str]:
    """What the uploader should know about a new case that did not stop it: an earlier case of
    the project holds exactly the same images (same set of sha256), i.e. a likely re-upload."""
    hashes = list(shown_cells(case=case).values_list("sha256", flat=True))
    own = Q(cells__is_reference=False)
    same = (
        Case.objects.filter(project_id=case.project_id)
        .exclude(pk=case.pk)
        .annotate(
            n_cells=Count("cells", filter=own, distinct=True),
            n_same=Count("cells", filter=own & Q(cells__sha256__in=hashes), distinct=True),
        )
        .filter(n_cells=len(hashes), n_same=len(hashes))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [
        f"The same {len(hashes)} images as case #{pk} of this project: "
        "is this a re-upload? Both cases are kept; review only one."
        for pk in same
    ]
