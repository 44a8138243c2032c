from __future__ import annotations

import numpy as np

from smear.crop import CROP_SIZE, cell_crop, crop_scale
from smear.generate import FieldConfig, cell_cutout, field_generate
from smear.masks import Box
from smear.metrics import Outline, detection_score

SMALL = FieldConfig(width=1000, height=800, white_cells=(4, 5), edge_cells=(1, 1))


def test_same_seed_same_field_and_truth(cnmc_sources):
    a = field_generate(cnmc_sources, SMALL, seed=7)
    b = field_generate(cnmc_sources, SMALL, seed=7)
    assert np.array_equal(a.image, b.image)
    assert [c.box for c in a.cells] == [c.box for c in b.cells]
    assert not np.array_equal(a.image, field_generate(cnmc_sources, SMALL, seed=8).image)


def test_truth_masks_fit_their_boxes_and_edge_cells_touch_the_edge(cnmc_sources):
    generated = field_generate(cnmc_sources, SMALL, seed=11)
    assert generated.image.shape == (800, 1000, 3)
    assert any(c.edge for c in generated.cells)
    for cell in generated.cells:
        assert cell.mask.shape == (cell.box.height, cell.box.width)
        assert cell.mask[0].any() and cell.mask[-1].any()  # tight box
        on_edge = cell.box.x0 == 0 or cell.box.y0 == 0 or cell.box.x1 == 1000 or cell.box.y1 == 800
        assert cell.edge == on_edge or not cell.edge
        # the white cell is dark in the field where its mask says it is
        pixels = generated.image[cell.box.y0 : cell.box.y1, cell.box.x0 : cell.box.x1][cell.mask]
        assert pixels.mean() < 140


def test_cutout_keeps_the_cell_of_a_cnmc_frame(cnmc_sources):
    rgb, mask = cell_cutout(cnmc_sources[0].path)
    assert rgb.shape[:2] == mask.shape and mask.mean() > 0.5


def test_crop_is_centred_black_outside_and_scaled():
    rgb = np.full((300, 300, 3), 200, dtype=np.uint8)
    mask = np.zeros((100, 80), bool)
    mask[10:90, 10:70] = True
    crop = cell_crop(rgb, Box(50, 50, 130, 150), mask, scale=2.0)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
    lit = np.argwhere(crop.sum(axis=2) > 0)
    (top, left), (bottom, right) = lit.min(axis=0), lit.max(axis=0)
    assert abs((bottom - top + 1) - 160) <= 2 and abs((right - left + 1) - 120) <= 2
    assert abs((top + bottom) / 2 - CROP_SIZE / 2) <= 21  # the box is centred, not the mask
    assert crop[0, 0].sum() == 0 and crop[225, 225].sum() == 600


def test_crop_too_large_for_the_frame_is_shrunk_to_fit():
    rgb = np.full((400, 400, 3), 100, dtype=np.uint8)
    crop = cell_crop(rgb, Box(0, 0, 400, 400), np.ones((400, 400), bool), scale=2.0)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3) and crop[2, 2].sum() > 0


def test_crop_scale_maps_the_typical_cell_to_cnmc_size():
    assert crop_scale(105.0) == 2.0
    assert crop_scale(210.0) == 1.0


def test_precision_and_recall_count_one_match_per_cell():
    square = np.ones((10, 10), bool)
    truth = [Outline(Box(0, 0, 10, 10), square), Outline(Box(50, 50, 60, 60), square)]
    found = [
        Outline(Box(1, 0, 11, 10), square),  # IoU 0.82: a match
        Outline(Box(0, 1, 10, 11), square),  # the same cell again: a false detection
        Outline(Box(200, 200, 210, 210), square),
    ]
    score = detection_score(truth, found)
    assert (score.matched, score.recall, score.precision) == (1, 0.5, 1 / 3)
    assert 0.8 < score.mean_mask_iou < 0.85
