"""Box-local masks and their encodings: run lengths for storage, polygons for drawing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """Pixel box in field coordinates, end-exclusive: x0 <= x < x1, y0 <= y < y1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]

    def intersection(self, other: Box) -> int:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(0, w) * max(0, h)

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union else 0.0


def box_of(mask: np.ndarray, *, x0: int = 0, y0: int = 0) -> Box:
    """The tight box of a non-empty boolean mask whose top-left pixel is (x0, y0)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("empty mask has no box")
    return Box(x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)


def rle_encode(mask: np.ndarray) -> dict[str, list[int]]:
    """Row-major run lengths of a boolean mask, starting with a run of False (maybe 0 long)."""
    flat = np.asarray(mask, dtype=bool).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(c) for c in counts]}


def rle_decode(rle: dict[str, list[int]]) -> np.ndarray:
    height, width = rle["size"]
    counts = np.asarray(rle["counts"], dtype=np.int64)
    if counts.sum() != height * width or (counts < 0).any():
        raise ValueError("run lengths do not add up to the mask's size")
    values = np.zeros(counts.size, dtype=bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape(height, width)


def mask_polygon(mask: np.ndarray, *, x0: int, y0: int, tolerance: float = 1.0) -> list[list[int]]:
    """The outline of the mask's largest part as [[x, y], ...] in field coordinates."""
    from skimage.measure import approximate_polygon, find_contours

    padded = np.pad(np.asarray(mask, dtype=np.uint8), 1)
    contours = find_contours(padded, 0.5)
    if not contours:
        return []
    contour = max(contours, key=len)
    contour = approximate_polygon(contour, tolerance=tolerance)
    return [[int(round(c - 1 + x0)), int(round(r - 1 + y0))] for r, c in contour]


def mask_iou(a: np.ndarray, box_a: Box, b: np.ndarray, box_b: Box) -> float:
    """IoU of two box-local masks placed in field coordinates."""
    x0, y0 = min(box_a.x0, box_b.x0), min(box_a.y0, box_b.y0)
    x1, y1 = max(box_a.x1, box_b.x1), max(box_a.y1, box_b.y1)
    canvas_a = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    canvas_b = np.zeros_like(canvas_a)
    canvas_a[box_a.y0 - y0 : box_a.y1 - y0, box_a.x0 - x0 : box_a.x1 - x0] = a
    canvas_b[box_b.y0 - y0 : box_b.y1 - y0, box_b.x0 - x0 : box_b.x1 - x0] = b
    union = np.count_nonzero(canvas_a | canvas_b)
    return np.count_nonzero(canvas_a & canvas_b) / union if union else 0.0
