from __future__ import annotations

import numpy as np
from skimage.color import rgb2hed

from smear.generate import FieldConfig, field_generate
from smear.io import decode_rgb
from smear.metrics import EMPTY, Outline, detection_score
from smear.segment import SegmentConfig, haematoxylin, segment_at, segment_field
from tests.fields.helpers import BACKGROUND, WHITE_CELLS, drawn_field

SMALL = FieldConfig(width=1200, height=900, white_cells=(4, 6), edge_cells=(1, 1))


def test_haematoxylin_is_rgb2hed_haematoxylin():
    rgb = np.random.default_rng(0).integers(0, 256, (37, 23, 3), dtype=np.uint8)
    assert np.allclose(haematoxylin(rgb), np.maximum(rgb2hed(rgb)[..., 0], 0), atol=1e-5)


def test_a_field_without_white_cells_has_no_detections():
    rgb = decode_rgb(drawn_field(cells=()))
    assert segment_field(rgb) == []
    blank = np.full((600, 800, 3), BACKGROUND, dtype=np.uint8)
    assert segment_field(blank) == []


def test_drawn_white_cells_are_found_with_their_outline():
    found = segment_field(decode_rgb(drawn_field()))
    assert len(found) == len(WHITE_CELLS)
    for x, y, r in WHITE_CELLS:
        match = [d for d in found if d.box.x0 < x < d.box.x1 and d.box.y0 < y < d.box.y1]
        assert len(match) == 1
        assert abs(match[0].area - np.pi * r * r) / (np.pi * r * r) < 0.1
        assert 0.5 < match[0].score <= 1.0
        assert not match[0].edge


def test_cell_cut_by_the_edge_is_kept_and_marked():
    found = segment_field(decode_rgb(drawn_field(cells=((30, 300, 55), (500, 400, 50)))))
    edge = [d for d in found if d.edge]
    assert len(found) == 2 and len(edge) == 1 and edge[0].box.x0 == 0


def test_two_touching_cells_are_split():
    found = segment_field(decode_rgb(drawn_field(cells=((400, 300, 52), (490, 300, 52)))))
    assert len(found) == 2
    assert all(abs(d.area - np.pi * 52**2) / (np.pi * 52**2) < 0.2 for d in found)


def test_click_finds_the_cell_under_it_or_nothing():
    rgb = decode_rgb(drawn_field())
    x, y, r = WHITE_CELLS[1]
    hit = segment_at(rgb, x + r // 3, y, SegmentConfig())
    assert hit is not None and hit.box.x0 < x < hit.box.x1
    assert segment_at(rgb, 20, 730, SegmentConfig()) is None  # background, far from any cell
    assert segment_at(rgb, 5000, 5, SegmentConfig()) is None  # outside the field


def test_generated_fields_meet_the_detection_targets(cnmc_sources):
    total = EMPTY
    for seed in (501, 502, 503):
        generated = field_generate(cnmc_sources, SMALL, seed=seed)
        found = segment_field(generated.image)
        total = total + detection_score(
            [Outline(c.box, c.mask) for c in generated.cells],
            [Outline(d.box, d.mask) for d in found],
        )
    assert total.truths >= 12
    assert total.recall >= 0.9 and total.precision >= 0.9
    assert total.mean_mask_iou >= 0.85
