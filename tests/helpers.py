"""Plain helpers the test packages share (fixtures live in the conftest files; nothing imports a
conftest)."""

from __future__ import annotations

import io
from typing import Any

from django.test import Client
from PIL import Image

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus
from allreview.cases.services import case_upload
from allreview.review.services.labels import label_set
from allreview.review.services.signoff import case_sign_off


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cell_ids(case: Case) -> list[int]:
    return list(case.cells.order_by("id").values_list("id", flat=True))


def signed_off_case(
    *, project: Any, user: Any, patient: str, label: str, n: int, seed: int, cell_bytes: Any
) -> Case:
    """An uploaded case of `n` synthetic cells, each labelled `label` by `user`, signed off
    through the service (retraining reads the labels its sign-off recorded)."""
    files = [
        IncomingFile(f"{patient}_{i}.png", cell_bytes(seed * 100 + i, label=label))
        for i in range(n)
    ]
    case = case_upload(project=project, user=user, patient_code=patient, files=files)
    for cell in case.cells.all():
        label_set(cell=cell, user=user, value=label)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.IN_REVIEW)
    case_sign_off(case=case, user=user)
    return case
