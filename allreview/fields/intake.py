"""Storing the field images of an upload (called by the case upload, inside its transaction)."""

from __future__ import annotations

from allreview.cases.ingest import AcceptedImage
from allreview.cases.models import Case
from allreview.fields.models import Field
from allreview.lib.cellstore import StoredFiles, image_files_store


def fields_store(case: Case, images: list[AcceptedImage], files: StoredFiles) -> None:
    """One pending Field row per field image, its file and thumbnail in storage (through
    `files`, so a failed upload removes them)."""
    rows = [_field_store(case, image, files) for image in images]
    Field.objects.bulk_create(rows)


def _field_store(case: Case, image: AcceptedImage, files: StoredFiles) -> Field:
    checked = image.checked
    with image.incoming.open() as original:
        stored = image_files_store(
            files=files,
            base=f"fields/{case.project_id}/{case.pk}/{checked.sha256}",
            checked=checked,
            original=original,
            with_model_input=False,  # the field's cells get theirs when they are cut out
        )
    return Field(
        case=case,
        image=stored.image,
        thumbnail=stored.thumbnail,
        sha256=checked.sha256,
        size_bytes=checked.size,
        width=checked.width,
        height=checked.height,
        image_format=checked.format,
        original_name=image.incoming.name[-255:],
    )
