"""Turning detections into cells: the C-NMC-like crop stored like an uploaded cell image, and
its provenance. Used by the segmentation worker and by a reviewer's added cell. The image
libraries (NumPy, scikit-image through `smear`) are imported inside, never at URL load."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from allreview.cases.models import Cell
from allreview.fields.models import CellOrigin, CellProvenance, Field, FieldSettings
from allreview.lib.imaging import check_image
from allreview.lib.users import AnyUser

if TYPE_CHECKING:
    import numpy as np

    from smear.segment import Detection
    from smear.stain import StainMap


@dataclass(frozen=True)
class NewCell:
    cell: Cell
    provenance: CellProvenance


def field_pixels(field: Field) -> np.ndarray:
    """The field's pixels as 8-bit RGB, upright as a browser shows it (EXIF orientation)."""
    import numpy as np
    from PIL import Image, ImageOps

    with (
        default_storage.open(field.image.name, "rb") as handle,
        Image.open(io.BytesIO(handle.read())) as image,
    ):
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def cell_from_detection(
    *,
    field: Field,
    rgb: np.ndarray,
    detection: Detection,
    index: int,
    cell_diameter: float,
    stored: list[str],
    origin: str = CellOrigin.DETECTED,
    added_by: AnyUser | None = None,
) -> NewCell:
    """Unsaved Cell and CellProvenance rows for one detection; the crop's files are stored (their
    names appended to `stored`, for the caller to remove should its transaction fail)."""
    from smear.crop import cell_crop, crop_scale, png_bytes
    from smear.masks import mask_polygon, rle_encode

    stain = field_stain(field, rgb, cell_diameter) if stain_normalize_on(field) else None
    scale = crop_scale(cell_diameter)
    crop = png_bytes(cell_crop(rgb, detection.box, detection.mask, scale=scale, stain=stain))
    checked = check_image(crop, thumb_size=settings.THUMBNAIL_SIZE)
    base = f"cells/{field.case.project_id}/{field.case_id}/{checked.sha256}"
    image_name = default_storage.save(f"{base}.png", ContentFile(crop))
    stored.append(image_name)
    thumb_name = default_storage.save(f"{base}.thumb.jpg", ContentFile(checked.thumbnail))
    stored.append(thumb_name)
    cell = Cell(
        case_id=field.case_id,
        image=image_name,
        thumbnail=thumb_name,
        sha256=checked.sha256,
        size_bytes=checked.size,
        width=checked.width,
        height=checked.height,
        image_format=checked.format,
        original_name=f"{field.original_name}#cell{index}"[-255:],
    )
    box = detection.box
    provenance = CellProvenance(
        field=field,
        x0=box.x0,
        y0=box.y0,
        x1=box.x1,
        y1=box.y1,
        mask=rle_encode(detection.mask),
        polygon=mask_polygon(detection.mask, x0=box.x0, y0=box.y0),
        score=detection.score,
        edge=detection.edge,
        origin=origin,
        added_by=added_by if added_by is not None and added_by.is_authenticated else None,
    )
    return NewCell(cell, provenance)


def stain_normalize_on(field: Field) -> bool:
    """The project's choice; a project without FieldSettings gets the model's default."""
    own = (
        FieldSettings.objects.filter(project_id=field.case.project_id)
        .values_list("stain_normalize", flat=True)
        .first()
    )
    return bool(FieldSettings._meta.get_field("stain_normalize").default if own is None else own)


_last_stain: tuple[tuple[int, str, float], StainMap | None] | None = None


def field_stain(field: Field, rgb: np.ndarray, cell_diameter: float) -> StainMap | None:
    """The field's colour mapping, from all the white cells the segmentation finds in it (so a
    cell added by a reviewer gets the same mapping as the detected ones). Kept for the last field
    a process saw: its cells are cropped one after another."""
    from smear.segment import SegmentConfig, segment_field
    from smear.stain import field_stain_map

    global _last_stain
    key = (field.pk, field.sha256, cell_diameter)
    if _last_stain is None or _last_stain[0] != key:
        found = segment_field(rgb, SegmentConfig(cell_diameter=cell_diameter))
        _last_stain = (key, field_stain_map(rgb, [(d.box, d.mask) for d in found]))
    return _last_stain[1]


def storage_remove(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
