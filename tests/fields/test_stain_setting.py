"""A project's `stain_normalize` (on unless the project turns it off) maps its fields' crops to
C-NMC's colours; turned off, the crops keep the field's colours exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from allreview.fields.crops import field_pixels
from allreview.fields.models import CellProvenance, Field, FieldSettings
from allreview.fields.segmentation import case_fields_segment
from smear.crop import cell_crop, crop_scale
from smear.masks import Box, rle_decode

pytestmark = pytest.mark.django_db


def _stored_and_plain(case_id: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each cell's stored crop beside the crop cut from its field with no colour change."""
    field = Field.objects.get(case_id=case_id)
    rgb, scale = field_pixels(field), crop_scale(field.cell_diameter)
    out = []
    for p in CellProvenance.objects.filter(field=field).select_related("cell"):
        with default_storage.open(p.cell.image.name, "rb") as handle:
            stored = np.asarray(Image.open(io.BytesIO(handle.read())).convert("RGB"))
        plain = cell_crop(rgb, Box(p.x0, p.y0, p.x1, p.y1), rle_decode(p.mask), scale=scale)
        out.append((stored, plain))
    return out


def test_crops_keep_the_fields_colours_when_the_project_turns_it_off(field_case, sent):
    FieldSettings.objects.create(
        project=field_case.project,
        cell_diameter=settings.FIELD_CELL_DIAMETER,
        stain_normalize=False,
    )
    case_fields_segment(case_id=field_case.pk)
    pairs = _stored_and_plain(field_case.pk)
    assert len(pairs) == 3 and all(np.array_equal(s, p) for s, p in pairs)


@pytest.mark.parametrize("own_settings", [True, False], ids=["set", "default"])
def test_stain_normalize_maps_the_crops_colours_and_leaves_black_black(
    field_case, sent, own_settings
):
    if own_settings:
        FieldSettings.objects.create(
            project=field_case.project,
            cell_diameter=settings.FIELD_CELL_DIAMETER,
            stain_normalize=True,
        )
    case_fields_segment(case_id=field_case.pk)
    pairs = _stored_and_plain(field_case.pk)
    assert len(pairs) == 3
    for stored, plain in pairs:
        black = plain.sum(axis=2) == 0
        assert (stored[black] == 0).all() and (stored[~black].sum(axis=1) > 0).all()
        assert np.abs(stored.astype(int) - plain.astype(int))[~black].mean() > 2
