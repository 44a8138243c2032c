"""Colour normalisation of field crops: a field's known stain shift is undone, black stays black,
the same field gives the same crops, and fields with nothing to learn from are left alone."""

from __future__ import annotations

import numpy as np
import pytest

from smear.crop import cell_crop
from smear.masks import Box
from smear.stain import (
    TILE,
    StainMap,
    field_stain_map,
    from_density,
    illumination,
    optical_density,
    stain_stats,
)

SHIFT = np.asarray([1.08, 0.93, 1.06], dtype=np.float32)  # per-channel OD change of one field


def _disc(size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    return (yy - c) ** 2 + (xx - c) ** 2 <= (size / 2 - 2) ** 2


def _field(seed: int = 0) -> tuple[np.ndarray, list[tuple[Box, np.ndarray]]]:
    """A pale field with four textured purple cells (OD well inside 8 bits), and their outlines."""
    rng = np.random.default_rng(seed)
    od = np.empty((512, 640, 3), dtype=np.float32)
    od[:] = (0.06, 0.1, 0.09)
    cells = []
    for x, y in ((40, 50), (300, 60), (120, 300), (420, 320)):
        mask = _disc(100)
        box = Box(x, y, x + 100, y + 100)
        texture = rng.uniform(0.6, 1.4, (100, 100, 1)).astype(np.float32)
        od[box.y0 : box.y1, box.x0 : box.x1][mask] = (np.asarray([0.5, 0.9, 0.35]) * texture)[mask]
        cells.append((box, mask))
    return from_density(od), cells


def _shifted(rgb: np.ndarray) -> np.ndarray:
    return from_density(optical_density(rgb) * SHIFT)


def _cell_od(rgb: np.ndarray, cells: list[tuple[Box, np.ndarray]]) -> np.ndarray:
    return np.concatenate([optical_density(rgb[b.y0 : b.y1, b.x0 : b.x1][m]) for b, m in cells])


def test_a_known_stain_shift_of_a_field_is_mapped_back_close_to_the_unshifted_field():
    original, cells = _field()
    shifted = _shifted(original)
    # The reference is the unshifted field's own colours: the ideal mapping undoes SHIFT.
    reference = stain_stats(_cell_od(original, cells))
    assert reference is not None
    stain = field_stain_map(shifted, cells, reference=reference)
    assert stain is not None
    before = np.abs(_cell_od(shifted, cells) - _cell_od(original, cells)).mean(axis=0)
    mapped = np.concatenate(
        [optical_density(stain.apply(shifted[b.y0 : b.y1, b.x0 : b.x1], b)[m]) for b, m in cells]
    )
    after = np.abs(mapped - _cell_od(original, cells)).mean(axis=0)
    assert (before > 0.02).all()  # the shift is visible in every channel
    assert (after < 0.3 * before).all() and (after < 0.01).all()


def test_the_mapping_moves_a_shifted_field_toward_the_reference_not_any_field_to_it():
    original, cells = _field()
    reference = stain_stats(_cell_od(original, cells))
    assert reference is not None
    same = field_stain_map(original, cells, reference=reference)
    assert same is not None
    gain, offset = same.gains()
    assert np.allclose(gain, 1.0, atol=0.02) and np.allclose(offset, 0.0, atol=0.02)


def test_black_outside_the_mask_stays_black_in_the_crop():
    original, cells = _field()
    stain = field_stain_map(_shifted(original), cells)
    assert stain is not None
    box, mask = cells[0]
    crop = cell_crop(_shifted(original), box, mask, scale=2.0, stain=stain)
    plain = cell_crop(_shifted(original), box, mask, scale=2.0)
    black = plain.sum(axis=2) == 0
    assert black.mean() > 0.5 and (crop[black] == 0).all()
    assert (crop[~black].sum(axis=1) > 0).all()  # and the cell keeps every pixel it had
    assert not np.array_equal(crop, plain)


def test_the_same_field_gives_the_same_mapping_and_crops():
    rgb, cells = _field(seed=3)
    a = field_stain_map(rgb, cells, flatten=True)
    b = field_stain_map(rgb, cells, flatten=True)
    assert a is not None and b is not None and a.field == b.field
    box, mask = cells[1]
    assert np.array_equal(
        cell_crop(rgb, box, mask, scale=2.0, stain=a), cell_crop(rgb, box, mask, scale=2.0, stain=b)
    )


def test_an_all_black_field_or_no_cells_gives_no_mapping_and_the_crop_still_works():
    black = np.zeros((300, 300, 3), dtype=np.uint8)
    box, mask = Box(100, 100, 200, 200), _disc(100)
    assert field_stain_map(black, [(box, mask)]) is None  # no colour to learn from
    assert field_stain_map(black, [(box, mask)], flatten=True) is None
    assert field_stain_map(black, []) is None
    assert cell_crop(black, box, mask, scale=2.0, stain=None).sum() == 0


def test_a_tiny_cell_is_too_few_pixels_for_an_estimate_but_can_be_mapped():
    rgb, cells = _field()
    tiny = [(Box(80, 80, 83, 83), np.ones((3, 3), bool))]
    assert field_stain_map(rgb, tiny) is None
    stain = field_stain_map(rgb, cells)
    assert stain is not None
    crop = cell_crop(rgb, tiny[0][0], tiny[0][1], scale=2.0, stain=stain)
    assert crop.shape == (450, 450, 3) and crop.sum() > 0


def test_bad_inputs_are_refused_clearly():
    rgb, cells = _field()
    with pytest.raises(ValueError, match="RGB"):
        field_stain_map(rgb[..., 0], cells)
    stain = field_stain_map(rgb, cells)
    assert stain is not None
    with pytest.raises(ValueError, match="box"):
        stain.apply(rgb[:10, :10], Box(0, 0, 20, 20))


def test_flattening_takes_an_uneven_light_off_the_cells():
    original, cells = _field()
    h, w = original.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    light = 1.0 - 0.25 * (xx / w)  # a quarter darker on the right
    dimmed = np.clip(original * light[..., None], 0, 255).astype(np.uint8)
    reference = stain_stats(_cell_od(original, cells))
    assert reference is not None
    flat = field_stain_map(dimmed, cells, flatten=True, reference=reference)
    plain = field_stain_map(dimmed, cells, reference=reference)
    assert flat is not None and plain is not None

    def error(stain: StainMap) -> float:
        b, m = cells[1]  # the cell on the right, where the light is dimmest
        mapped = optical_density(stain.apply(dimmed[b.y0 : b.y1, b.x0 : b.x1], b)[m])
        return float(np.abs(mapped - optical_density(original[b.y0 : b.y1, b.x0 : b.x1][m])).mean())

    assert error(flat) < 0.6 * error(plain)


def test_a_field_smaller_than_a_tile_has_no_light_estimate():
    assert illumination(np.full((TILE - 1, 400, 3), 200, np.uint8)) is None
