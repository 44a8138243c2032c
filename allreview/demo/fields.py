"""The demo's smear field: one field-of-view composed by `smear.generate` from the demo's own
synthetic cells (the demo cannot count on the C-NMC data being there), so a new user finds a
field under review. It is uploaded like a lab's camera file; the worker segments it and
classifies its cells through the normal path."""

from __future__ import annotations

import tempfile
from pathlib import Path

from classifier.synthetic import make_case_cells
from smear.generate import FieldConfig, SourceCell, field_generate
from smear.io import jpeg_bytes

DEMO_FIELD_CASE = "DEMO-005"
DEMO_FIELD_SEED = 5
# Cells to draw the field's white cells from, and how many of them are blasts.
DEMO_FIELD_SOURCES = 12
DEMO_FIELD_BLASTS = 0.5
# A camera field of 1,600x1,200 (the fields are 1,000-2,600 px wide): smaller than the
# benchmark's 2,592x1,944, so generating it adds little to a first start. At the generator's
# scale a typical cell is ~105 px across, the platform's default field scale.
DEMO_FIELD_CONFIG = FieldConfig(width=1600, height=1200, white_cells=(8, 8), edge_cells=(1, 1))


def demo_field_jpeg() -> bytes:
    """The demo field as a JPEG camera file; the same bytes on every install."""
    cells = make_case_cells(
        seed=DEMO_FIELD_SEED, n_cells=DEMO_FIELD_SOURCES, blast_fraction=DEMO_FIELD_BLASTS
    )
    with tempfile.TemporaryDirectory(prefix="allreview-demo-field-") as work:
        sources = []
        for index, (label, image) in enumerate(cells):
            path = Path(work) / f"cell_{index:02d}.png"
            image.save(path, format="PNG", compress_level=1)
            sources.append(SourceCell(path, label, DEMO_FIELD_CASE))
        generated = field_generate(sources, DEMO_FIELD_CONFIG, seed=DEMO_FIELD_SEED)
    return jpeg_bytes(generated.image)
