"""C-NMC-like crops of segmented cells: the cell centred in a 450x450 black frame, black outside
its mask, scaled so a typical lymphocyte is as large as in C-NMC."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from smear.masks import Box
from smear.segment import CNMC_CELL_DIAMETER
from smear.stain import StainMap

CROP_SIZE = 450  # C-NMC's frame


def crop_scale(cell_diameter: float) -> float:
    """Crop pixels per field pixel for a project whose typical lymphocyte is `cell_diameter`
    field pixels across."""
    if cell_diameter <= 0:
        raise ValueError("the typical cell diameter must be positive")
    return CNMC_CELL_DIAMETER / cell_diameter


def cell_crop(
    rgb: np.ndarray, box: Box, mask: np.ndarray, *, scale: float, stain: StainMap | None = None
) -> np.ndarray:
    """The crop (uint8, 450x450x3). A cell that would not fit at `scale` is shrunk to fit. With
    `stain` (the field's, `smear.stain.field_stain_map`) its colours are mapped to C-NMC's."""
    pixels = rgb[box.y0 : box.y1, box.x0 : box.x1]
    if stain is not None:
        pixels = stain.apply(pixels, box)
    pixels = np.where(mask[..., None], pixels, 0).astype(np.uint8)
    fit = min(scale, (CROP_SIZE - 2) / max(box.width, box.height))
    size = (max(1, round(box.width * fit)), max(1, round(box.height * fit)))
    # Resampled with black already outside the mask, the cell's edge fades into black over a
    # pixel or two as in C-NMC's frames (a hard threshold after enlarging leaves a staircase
    # edge that C-NMC cells never have, and the classifier notices).
    image = Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    scaled = np.asarray(image)
    frame = np.zeros((CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    top, left = (CROP_SIZE - size[1]) // 2, (CROP_SIZE - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = scaled
    return frame


def png_bytes(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG", compress_level=3)
    return out.getvalue()
