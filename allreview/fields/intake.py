"""Storing the field images of an upload (called by the case upload, inside its transaction)."""

from __future__ import annotations

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from allreview.cases.ingest import AcceptedImage
from allreview.cases.models import Case
from allreview.fields.models import Field

EXTENSION_BY_FORMAT = {"BMP": "bmp", "PNG": "png", "JPEG": "jpg", "TIFF": "tif"}


def fields_store(case: Case, images: list[AcceptedImage], stored: list[str]) -> None:
    """One pending Field row per field image, its file and thumbnail in storage; every name
    written goes into `stored` so a failed upload removes it."""
    rows = [_field_store(case, image, stored) for image in images]
    Field.objects.bulk_create(rows)


def _field_store(case: Case, image: AcceptedImage, stored: list[str]) -> Field:
    checked = image.checked
    base = f"fields/{case.project_id}/{case.pk}/{checked.sha256}"
    with image.incoming.open() as original:
        image_name = default_storage.save(
            f"{base}.{EXTENSION_BY_FORMAT[checked.format]}", File(original)
        )
    stored.append(image_name)
    thumb_name = default_storage.save(f"{base}.thumb.jpg", ContentFile(checked.thumbnail))
    stored.append(thumb_name)
    return Field(
        case=case,
        image=image_name,
        thumbnail=thumb_name,
        sha256=checked.sha256,
        size_bytes=checked.size,
        width=checked.width,
        height=checked.height,
        image_format=checked.format,
        original_name=image.incoming.name[-255:],
    )
