"""Turning detections into cells: the C-NMC-like crop stored like an uploaded cell image (with
its thumbnail and model-ready input, through `lib.cellstore`), and its provenance. Used by the
segmentation worker and by a reviewer's added cell. The image libraries (NumPy, scikit-image
through `smear`) are imported inside, never at URL load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import default_storage

from allreview.cases.models import Cell
from allreview.fields.models import CellOrigin, CellProvenance, Field, FieldSettings
from allreview.lib.cellstore import StoredFiles, image_files_store
from allreview.lib.imaging import check_image
from allreview.lib.users import AnyUser

if TYPE_CHECKING:
    import numpy as np

    from classifier.crops import CropGeometry
    from smear.segment import Detection
    from smear.stain import StainMap


@dataclass(frozen=True)
class NewCell:
    cell: Cell
    provenance: CellProvenance


def field_pixels(field: Field) -> np.ndarray:
    """The field's pixels as 8-bit RGB, upright as a browser shows it (EXIF orientation).
    Decoded straight from the stored file, turned in place and converted only when not RGB
    already: the same pixels as `exif_transpose(image).convert("RGB")` without its two
    full-size copies (a 2,592x1,944 field is 15 MB each)."""
    import numpy as np
    from PIL import Image, ImageOps

    with default_storage.open(field.image.name, "rb") as handle, Image.open(handle) as image:
        ImageOps.exif_transpose(image, in_place=True)  # loads; turns only a tagged image
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return np.asarray(rgb)


def cell_from_detection(
    *,
    field: Field,
    rgb: np.ndarray,
    detection: Detection,
    index: int,
    cell_diameter: float,
    files: StoredFiles,
    model_input: CropGeometry | None = None,
    origin: str = CellOrigin.DETECTED,
    added_by: AnyUser | None = None,
    detections: list[Detection] | None = None,
) -> NewCell:
    """Unsaved Cell and CellProvenance rows for one detection; the crop's files are stored
    through `files` (removed should the caller's transaction fail): the crop, its thumbnail and,
    with `model_input` (the geometry the case will be classified with), the model's input cut
    from the crop as an uploaded cell's is at upload, so classifying it decodes no PNG."""
    from smear.crop import cell_crop, crop_scale, png_bytes
    from smear.masks import mask_polygon, rle_encode

    on = stain_normalize_on(field)
    stain = field_stain(field, rgb, cell_diameter, detections=detections) if on else None
    scale = crop_scale(cell_diameter)
    crop = png_bytes(cell_crop(rgb, detection.box, detection.mask, scale=scale, stain=stain))
    checked = check_image(crop, thumb_size=settings.THUMBNAIL_SIZE, model_input=model_input)
    stored = image_files_store(
        files=files,
        base=f"cells/{field.case.project_id}/{field.case_id}/{checked.sha256}",
        checked=checked,
        original=crop,
    )
    cell = Cell(
        case_id=field.case_id,
        image=stored.image,
        thumbnail=stored.thumbnail,
        sha256=checked.sha256,
        size_bytes=checked.size,
        width=checked.width,
        height=checked.height,
        image_format=checked.format,
        original_name=f"{field.original_name}#cell{index}"[-255:],
        model_input=stored.model_input,
        model_input_geometry=stored.model_input_geometry,
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


def field_stain(
    field: Field,
    rgb: np.ndarray,
    cell_diameter: float,
    *,
    detections: list[Detection] | None = None,
) -> StainMap | None:
    """The field's colour mapping, from all the white cells found in it: the worker's own
    detections, else (a reviewer's added cell) the field segmented again, so an added cell gets
    the same mapping as the detected ones. Kept for the last field a process saw: its cells
    are cropped one after another."""
    from smear.segment import SegmentConfig, segment_field
    from smear.stain import field_stain_map

    global _last_stain
    key = (field.pk, field.sha256, cell_diameter)
    if _last_stain is None or _last_stain[0] != key:
        found = detections
        if found is None:
            found = segment_field(rgb, SegmentConfig(cell_diameter=cell_diameter))
        _last_stain = (key, field_stain_map(rgb, [(d.box, d.mask) for d in found]))
    return _last_stain[1]
