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
    from skimage.measure import find_contours

    padded = np.pad(np.asarray(mask, dtype=np.uint8), 1)
    contours = find_contours(padded, 0.5)
    if not contours:
        return []
    contour = max(contours, key=len)
    contour = approximate_polygon(contour, tolerance)
    return [[int(round(c - 1 + x0)), int(round(r - 1 + y0))] for r, c in contour]


def approximate_polygon(coords: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker simplification of a (K, 2) chain of (row, column) points: the points
    kept, every dropped one within `tolerance` of the simplified chain.

    The arithmetic of scikit-image's `skimage.measure.approximate_polygon` (BSD-3-Clause), step
    for step, so the outlines are the same points (a test compares the two). Its module imports
    `scipy.signal`, and through it `scipy.stats`: about 1.5 s of a web worker's first click on a
    missed cell, for a function of forty lines."""
    if tolerance <= 0:
        return coords
    chain = np.zeros(coords.shape[0], bool)
    dists = np.zeros(coords.shape[0])
    chain[0] = chain[-1] = True
    stack = [(0, chain.shape[0] - 1)]
    while stack:
        start, end = stack.pop()
        r0, c0 = coords[start, :]
        r1, c1 = coords[end, :]
        dr, dc = r1 - r0, c1 - c0
        angle = -np.arctan2(dr, dc)
        offset = c0 * np.sin(angle) + r0 * np.cos(angle)
        inner = coords[start + 1 : end, :]
        inner_dists = dists[start + 1 : end]
        dr0, dc0 = inner[:, 0] - r0, inner[:, 1] - c0
        dr1, dc1 = inner[:, 0] - r1, inner[:, 1] - c1
        # perpendicular distance where the point projects inside the segment, else the nearer end
        perp = np.logical_and(dr0 * dr + dc0 * dc > 0, -dr1 * dr - dc1 * dc > 0)
        eucl = np.logical_not(perp)
        inner_dists[perp] = np.abs(
            inner[perp, 0] * np.cos(angle) + inner[perp, 1] * np.sin(angle) - offset
        )
        inner_dists[eucl] = np.minimum(
            np.sqrt(dc0[eucl] ** 2 + dr0[eucl] ** 2), np.sqrt(dc1[eucl] ** 2 + dr1[eucl] ** 2)
        )
        if np.any(inner_dists > tolerance):
            split = start + int(np.argmax(inner_dists)) + 1
            stack.append((split, end))
            stack.append((start, split))
            chain[split] = True
    return coords[chain, :]


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
