from __future__ import annotations

import numpy as np
import pytest

from smear.masks import Box, box_of, mask_iou, mask_polygon, rle_decode, rle_encode
from tests.paths import REPO


def disc(size: int, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    return (yy - c) ** 2 + (xx - c) ** 2 <= radius**2


@pytest.mark.parametrize("first", [False, True])
def test_run_lengths_give_back_the_same_mask(first):
    mask = disc(40, 15)
    mask[0, 0] = first
    rle = rle_encode(mask)
    assert rle["size"] == [40, 40]
    assert (rle["counts"][0] == 0) == first
    assert np.array_equal(rle_decode(rle), mask)


def test_run_lengths_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="do not add up"):
        rle_decode({"size": [2, 2], "counts": [1, 2]})


def test_box_of_a_mask_is_tight_and_offset():
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:9] = True
    assert box_of(mask, x0=100, y0=50) == Box(103, 52, 109, 55)


def test_mask_iou_of_shifted_discs():
    a = disc(20, 8)
    assert mask_iou(a, Box(0, 0, 20, 20), a, Box(0, 0, 20, 20)) == 1.0
    assert mask_iou(a, Box(0, 0, 20, 20), a, Box(40, 0, 60, 20)) == 0.0
    assert 0.3 < mask_iou(a, Box(0, 0, 20, 20), a, Box(5, 0, 25, 20)) < 0.7


def test_polygon_outlines_the_mask_in_field_coordinates():
    polygon = mask_polygon(disc(41, 20), x0=100, y0=200)
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    assert 98 <= min(xs) <= 101 and 139 <= max(xs) <= 141
    assert 198 <= min(ys) <= 201 and 239 <= max(ys) <= 241


@pytest.mark.parametrize("tolerance", [0.0, 0.5, 1.0, 3.0])
def test_outlines_are_simplified_exactly_as_scikit_image_does(tolerance):
    from scipy import ndimage
    from skimage.measure import approximate_polygon as skimage_approximate
    from skimage.measure import find_contours

    from smear.masks import approximate_polygon

    rng = np.random.default_rng(14)
    for _ in range(40):  # irregular blobs: smoothed noise above a threshold, like cells' outlines
        noise = ndimage.gaussian_filter(rng.normal(size=(90, 120)), sigma=rng.uniform(4, 12))
        mask = noise > np.quantile(noise, rng.uniform(0.5, 0.9))
        for contour in find_contours(np.pad(mask.astype(np.uint8), 1), 0.5):
            ours = approximate_polygon(contour, tolerance)
            assert np.array_equal(ours, skimage_approximate(contour, tolerance=tolerance))


def test_the_outline_does_not_import_scipy_signal():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from smear.masks import mask_polygon; "
        "m = np.zeros((30, 30), bool); m[5:25, 8:20] = True; mask_polygon(m, x0=0, y0=0); "
        "print('scipy.signal' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
