"""Reads for the reports: a case as signed (or, asked for, as it stands in review), its readers,
its signer, the model version and that version's frozen-set metrics, and the push state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from allreview.cases.models import Case, CaseStatus, CellClass, Label, LabelKind
from allreview.interop.models import FhirEndpoint, FhirPush, PushStatus
from allreview.lib.conflict import Conflict
from allreview.lib.users import AnyUser
from allreview.mlmodels.models import ModelVersion
from allreview.review.models import CaseReopening, SignedCell, SignOff
from allreview.review.selectors.gallery import case_review_cells
from allreview.review.selectors.reading import reading_view
from allreview.review.summary import CaseSummary, case_summary, summarise
from allreview.training.models import ModelScore

PRELIMINARY_STATUSES = (CaseStatus.READY, CaseStatus.IN_REVIEW)


class NotSignedOff(Conflict):
    """The case has no current sign-off and no preliminary report was asked for (HTTP 409)."""


@dataclass(frozen=True)
class CaseReport:
    """Everything a report of one case states, read once; FHIR and the printable page both
    render this."""

    case: Case
    status: str  # FHIR DiagnosticReport.status: final, amended or preliminary
    summary: CaseSummary
    issued: datetime
    sign_off: SignOff | None
    replaces: SignOff | None  # the sign-off an amended report replaces
    reopen_reason: str
    signer: AbstractBaseUser | None
    readers: list[AbstractBaseUser]
    model_version: ModelVersion | None
    score: ModelScore | None
    blast_cell_ids: list[int]

    @property
    def report_key(self) -> str:
        """The DiagnosticReport's identifier value: one per sign-off, one for a preliminary."""
        return report_key(self.case, self.sign_off)


def report_key(case: Case, sign_off: SignOff | None) -> str:
    if sign_off is None:
        return f"case-{case.pk}-preliminary"
    return f"case-{case.pk}-signoff-{sign_off.pk}"


def case_report(*, case: Case, user: AnyUser, preliminary: bool = False) -> CaseReport:
    """The signed report of a signed-off case; with `preliminary`, the report of an open case
    as it stands (a signed-off case always gives its signed report). NotSignedOff when there is
    neither; PermissionDenied for a blinded reader of the open case (it would unblind them)."""
    if case.status == CaseStatus.SIGNED_OFF:
        sign_off = SignOff.objects.filter(case=case).select_related("user").order_by("-id").first()
        if sign_off is not None:
            return signed_report(case=case, sign_off=sign_off)
    if not preliminary:
        raise NotSignedOff("the case is not signed off; ask for ?status=preliminary")
    if case.status not in PRELIMINARY_STATUSES:
        raise NotSignedOff(f"a case that is {case.get_status_display().lower()} has no report")
    if reading_view(case=case, user=user).blinded:
        raise PermissionDenied("you read this case blinded: its report is shown once signed off")
    return _preliminary_report(case)


def signed_report(*, case: Case, sign_off: SignOff) -> CaseReport:
    """The report of one sign-off, from what it recorded (never the live labels)."""
    snapshot = sign_off.snapshot
    replaces = SignOff.objects.filter(case=case, pk__lt=sign_off.pk).order_by("-id").first()
    reopening = (
        CaseReopening.objects.filter(sign_off=replaces).order_by("-id").first()
        if replaces
        else None
    )
    blasts = SignedCell.objects.filter(sign_off=sign_off, label=CellClass.ALL)
    return CaseReport(
        case=case,
        status="amended" if replaces else "final",
        summary=summarise(snapshot["counts"], settings.BLAST_FLAG_THRESHOLD),
        issued=sign_off.created_at,
        sign_off=sign_off,
        replaces=replaces,
        reopen_reason=reopening.reason if reopening else "",
        signer=sign_off.user,
        readers=_readers(
            case, [r["user"] for r in snapshot.get("readers", [])], sign_off.created_at
        ),
        model_version=sign_off.model_version,
        score=_score(sign_off.model_version, case, sign_off.created_at),
        blast_cell_ids=list(blasts.order_by("cell_id").values_list("cell_id", flat=True)),
    )


def _preliminary_report(case: Case) -> CaseReport:
    now = timezone.now()
    blasts = case_review_cells(case=case).filter(label=CellClass.ALL)
    assigned = list(case.readers.values_list("user__username", flat=True))
    return CaseReport(
        case=case,
        status="preliminary",
        summary=case_summary(case=case),
        issued=now,
        sign_off=None,
        replaces=None,
        reopen_reason="",
        signer=None,
        readers=_readers(case, assigned, now),
        model_version=case.model_version,
        score=_score(case.model_version, case, now),
        blast_cell_ids=list(blasts.order_by("id").values_list("id", flat=True)),
    )


def _readers(case: Case, assigned: list[str], until: datetime) -> list[AbstractBaseUser]:
    """The case's assigned readers; on a case nobody took, whoever read cells until then."""
    names = assigned or list(
        Label.objects.filter(
            cell__case=case, cell__is_reference=False, kind=LabelKind.READ, created_at__lte=until
        )
        .exclude(value="")
        .values_list("user__username", flat=True)
        .distinct()
    )
    users = get_user_model().objects.filter(username__in=names)
    return sorted(users, key=lambda u: names.index(u.get_username()))


def _score(version: ModelVersion | None, case: Case, until: datetime) -> ModelScore | None:
    """The version's newest score on the project's frozen set as of the report (None unscored)."""
    if version is None:
        return None
    scores = ModelScore.objects.filter(
        model_version=version, project_id=case.project_id, created_at__lte=until
    )
    return scores.order_by("-created_at", "-id").first()


def fhir_endpoint(*, project_id: int) -> FhirEndpoint | None:
    return FhirEndpoint.objects.filter(project_id=project_id).first()


def case_pushes(*, case: Case) -> QuerySet[FhirPush]:
    return FhirPush.objects.filter(case=case).select_related("sign_off").order_by("-id")


@dataclass(frozen=True)
class CasePushView:
    """For the case page: whether the project has a FHIR server and how the newest push of
    the case went (status None: never pushed)."""

    endpoint_set: bool
    status: str | None = None
    status_display: str = ""
    attempts: int = 0
    last_error: str = ""
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None


PUSH_FIELDS = ("status", "attempts", "last_error", "sent_at", "next_attempt_at")


def case_push_view(*, case: Case) -> CasePushView:
    """One query, whatever the state: the case page's query count stays flat."""
    newest = FhirPush.objects.filter(case_id=case.pk).order_by("-id")
    row = (
        FhirEndpoint.objects.filter(project_id=case.project_id)
        .annotate(**{f"push_{f}": Subquery(newest.values(f)[:1]) for f in PUSH_FIELDS})
        .values("base_url", *(f"push_{f}" for f in PUSH_FIELDS))
        .first()
    )
    if row is None:  # a push only exists where an endpoint was set (endpoints stay)
        return CasePushView(endpoint_set=False)
    status = row["push_status"]
    return CasePushView(
        endpoint_set=bool(row["base_url"]),
        status=status,
        status_display=str(PushStatus(status).label) if status else "",
        attempts=row["push_attempts"] or 0,
        last_error=row["push_last_error"] or "",
        sent_at=row["push_sent_at"],
        next_attempt_at=row["push_next_attempt_at"],
    )
