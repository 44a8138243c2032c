"""Colour normalisation of a field's cell crops to C-NMC's colours (issue 14).

C-NMC's frames were stain-normalised by their authors; a lab's fields are not, and every field
has its own stain strength and light. Per field, the optical density (OD) of its white cells'
pixels (the segmentation's masks, pooled over the field) is summed up per channel by two
percentiles, and each crop's OD is mapped linearly, channel by channel, so that these become
C-NMC's (`REFERENCE`). Optionally the field's uneven light is flattened first: OD is then taken
against the field's local background (the brightest pixels of coarse tiles) instead of 255.

Only the field's own pixels and the detections are used, never ground truth. The estimate is
pooled over the field, not taken per cell: one cell's colours are partly what it is (a blast's
nucleus is not a lymphocyte's), and normalising each cell on its own would erase that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smear.generate import CNMC_BLACK_LEVEL
from smear.masks import Box

LOW_Q, HIGH_Q = 10.0, 90.0  # percentiles of a channel's OD over the white cells' pixels
MIN_SPREAD = 0.01  # a channel whose OD percentiles are closer than this carries no stain
MIN_PIXELS = 500  # fewer white-cell pixels than this in a field: no estimate, crops unchanged
MAX_SAMPLES = 200_000  # pixels pooled per field (every k-th, so the result is deterministic)
GAIN_LIMITS = (0.5, 2.0)  # a field whose spread is off by more than this is not a stain shift
TILE = 128  # background tiles (field pixels) for the illumination estimate


@dataclass(frozen=True)
class StainStats:
    """Per channel (R, G, B), the LOW_Q and HIGH_Q percentiles of white-cell pixels' OD."""

    low: tuple[float, float, float]
    high: tuple[float, float, float]


# C-NMC's colours: `python scripts/bench/stain_reference.py --data ../shared/data/cnmc` (the frames of
# the training patients of classifier.splits.patient_split(val_fraction=0.2, seed=0), so the
# benchmark's held-out patients play no part; every frame's cell eroded by 3 px, every 7th pixel).
REFERENCE = StainStats(low=(1.0754, 1.8036, 0.998), high=(1.5339, 2.4967, 1.3072))


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """-log(I / 255) per channel (float32); 0 is taken as 1 so black stays finite."""
    return -np.log(np.maximum(rgb, 1).astype(np.float32) / 255.0)


def from_density(od: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(255.0 * np.exp(-od)), 0, 255).astype(np.uint8)


def stain_stats(od: np.ndarray) -> StainStats | None:
    """Percentiles of an (N, 3) OD sample, or None when it cannot say anything: too few pixels,
    or no spread in some channel (saturated, black or blank)."""
    if od.ndim != 2 or od.shape[1] != 3 or len(od) < MIN_PIXELS:
        return None
    low, high = np.percentile(od, [LOW_Q, HIGH_Q], axis=0)
    if (high - low < MIN_SPREAD).any():
        return None
    return StainStats(
        low=tuple(round(float(v), 4) for v in low),  # type: ignore[arg-type]
        high=tuple(round(float(v), 4) for v in high),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Illumination:
    """The field's background OD on a coarse grid of TILE-sized tiles (smoothed)."""

    grid: np.ndarray  # (rows, cols, 3) float32

    def at(self, box: Box) -> np.ndarray:
        """Background OD at every pixel of `box` (bilinear between tile centres)."""
        from scipy import ndimage

        ys = (np.arange(box.y0, box.y1, dtype=np.float32) + 0.5) / TILE - 0.5
        xs = (np.arange(box.x0, box.x1, dtype=np.float32) + 0.5) / TILE - 0.5
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        return np.stack(
            [
                ndimage.map_coordinates(self.grid[..., c], [yy, xx], order=1, mode="nearest")
                for c in range(3)
            ],
            axis=-1,
        )


def illumination(rgb: np.ndarray) -> Illumination | None:
    """Background of the field: per tile the OD of its brightest fifth of pixels (red cells and
    white cells cover the rest), outlier tiles (one covered by a cell) replaced by their
    neighbours' median, then smoothed. None for a field smaller than one tile."""
    from scipy import ndimage

    rows, cols = rgb.shape[0] // TILE, rgb.shape[1] // TILE
    if rows < 1 or cols < 1:
        return None
    tiles = rgb[: rows * TILE : 4, : cols * TILE : 4].reshape(rows, TILE // 4, cols, TILE // 4, 3)
    od = optical_density(tiles.transpose(0, 2, 1, 3, 4).reshape(rows, cols, -1, 3))
    brightness = od.sum(axis=3)
    cut = np.percentile(brightness, 20, axis=2, keepdims=True)
    bright = brightness <= cut
    grid = (od * bright[..., None]).sum(axis=2) / np.maximum(bright.sum(axis=2), 1)[..., None]
    grid = ndimage.median_filter(grid, size=(3, 3, 1), mode="nearest")
    grid = ndimage.gaussian_filter(grid, sigma=(1.0, 1.0, 0), mode="nearest")
    return Illumination(grid.astype(np.float32))


@dataclass(frozen=True)
class StainMap:
    """A field's mapping to C-NMC's colours, applied to the pixels of one cell's box."""

    field: StainStats
    reference: StainStats
    light: Illumination | None = None

    def gains(self) -> tuple[np.ndarray, np.ndarray]:
        f_low, f_high = np.asarray(self.field.low), np.asarray(self.field.high)
        r_low, r_high = np.asarray(self.reference.low), np.asarray(self.reference.high)
        gain = np.clip((r_high - r_low) / np.maximum(f_high - f_low, MIN_SPREAD), *GAIN_LIMITS)
        return gain.astype(np.float32), (r_low - f_low * gain).astype(np.float32)

    def apply(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """The box's pixels (uint8, box-sized) in C-NMC's colours."""
        if rgb.shape[:2] != (box.height, box.width):
            raise ValueError("the pixels must be the box's")
        od = optical_density(rgb)
        if self.light is not None:
            od -= self.light.at(box)
        gain, offset = self.gains()
        return from_density(np.maximum(od * gain + offset, 0.0))


def field_stain_map(
    rgb: np.ndarray,
    cells: Sequence[tuple[Box, np.ndarray]],
    *,
    flatten: bool = False,
    reference: StainStats = REFERENCE,
) -> StainMap | None:
    """The field's mapping estimated from its detected white cells (box and box-local mask), or
    None when the field gives too few white-cell pixels (the crops are then left as they are)."""
    from scipy import ndimage

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("the field must be an RGB image")
    light = illumination(rgb) if flatten else None
    pooled = []
    for box, mask in cells:
        inner = ndimage.binary_erosion(mask, iterations=1)  # the rim is blended with background
        od = optical_density(rgb[box.y0 : box.y1, box.x0 : box.x1][inner])
        if light is not None:
            od -= light.at(box)[inner]
        pooled.append(od)
    if not pooled:
        return None
    od = np.concatenate(pooled)
    stats = stain_stats(od[:: max(1, len(od) // MAX_SAMPLES)])
    if stats is None:
        return None
    return StainMap(stats, reference, light)


def cnmc_stain_reference(paths: Sequence[Path], *, step: int = 7) -> StainStats:
    """C-NMC's colours from its frames: each frame's cell (non-black, eroded by 3 px so the fade
    into the black frame is left out), every `step`-th pixel, pooled."""
    from PIL import Image
    from scipy import ndimage

    pooled = []
    for path in paths:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        cell = ndimage.binary_erosion(
            rgb.astype(np.int32).sum(axis=2) > CNMC_BLACK_LEVEL, iterations=3
        )
        pooled.append(optical_density(rgb[cell][::step]))
    stats = stain_stats(np.concatenate(pooled)) if pooled else None
    if stats is None:
        raise ValueError("no C-NMC cell pixels to take the reference from")
    return stats
