"""The API's one refusal path (REST_FRAMEWORK["EXCEPTION_HANDLER"]): what a service raises is
answered as the pages answer it, with the status `lib.refusals` gives it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from allreview.cases.ingest import UploadRejected
from allreview.lib.conflict import Conflict
from allreview.lib.refusals import refusal_body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """409 with the fresh state for a conflict; 400 naming every refused file for an upload;
    a Django ValidationError as DRF's (field errors, else `detail`); the rest as DRF does."""
    if isinstance(exc, Conflict):
        return Response(refusal_body(exc), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, UploadRejected):
        problems = [{"file": p.name, "reason": p.reason} for p in exc.problems]
        body = {"detail": f"{len(problems)} problem(s); nothing was stored.", "problems": problems}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(errors)
    return exception_handler(exc, context)
