"""Find and segment the white cells of a stained smear field.

Colour deconvolution gives the haematoxylin density of every pixel (skimage's `hed_from_rgb`
stain matrix, the matrix `skimage.color.rgb2hed` uses, applied through per-channel lookup
tables since the input is 8-bit). White cells are the large haematoxylin-dense bodies: red
cells take eosin and platelets are small. The work runs on a copy reduced so a typical cell is
~50 px across (fast, and enough to find and split cells): Otsu threshold (never below a floor,
so a field without white cells finds none), hole filling and size filtering; clumps larger than
one cell are split by a watershed on the distance transform seeded by its h-maxima. Each cell's
outline is then redrawn at full resolution inside its own box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from smear.masks import Box, box_of

CNMC_CELL_DIAMETER = 210.0  # median equivalent diameter of a C-NMC cell, in C-NMC pixels
WORK_DIAMETER = 48.0  # cell diameter (px) on the reduced copy the detection works on
SPLIT_NECK = 0.85  # parts meeting along more than this share of a diameter are one cell


@dataclass(frozen=True)
class SegmentConfig:
    cell_diameter: float = 105.0  # a typical lymphocyte in field pixels (the project's scale)
    min_area: float = 0.2  # smallest cell kept, as a share of a typical cell's area
    max_area: float = 8.0  # larger blobs are smears of stain, not cells
    min_haematoxylin: float = 0.035  # threshold floor (optical density in rgb2hed's units)
    split_dynamic: float = 0.08  # a seed must rise this share of a radius above its saddle

    @property
    def typical_area(self) -> float:
        return math.pi * (self.cell_diameter / 2) ** 2


@dataclass(frozen=True)
class Detection:
    box: Box
    mask: np.ndarray  # bool, box-local
    score: float  # 0..1: contrast, roundness and a plausible size together
    edge: bool  # touches the field's edge: cut off

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))


@cache
def _haematoxylin_luts() -> np.ndarray:
    """lut[c, v]: channel c's share of rgb2hed's haematoxylin for 8-bit value v."""
    from skimage.color import hed_from_rgb

    values = np.maximum(np.arange(256, dtype=np.float64) / 255.0, 1e-6)
    log_od = np.log(values) / np.log(1e-6)
    return (log_od[None, :] * hed_from_rgb[:, 0][:, None]).astype(np.float32)


def haematoxylin(rgb: np.ndarray) -> np.ndarray:
    """rgb2hed(rgb)[..., 0] for an 8-bit RGB image, as float32."""
    luts = _haematoxylin_luts()
    h = luts[0][rgb[..., 0]]
    h += luts[1][rgb[..., 1]]
    h += luts[2][rgb[..., 2]]
    np.maximum(h, 0.0, out=h)
    return h


def _reduce(image: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return image
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def work_factor(config: SegmentConfig) -> int:
    return max(1, int(config.cell_diameter // WORK_DIAMETER))


def _threshold(h: np.ndarray, config: SegmentConfig) -> float:
    from skimage.filters import threshold_otsu

    sample = h[::2, ::2]
    if float(sample.max()) <= config.min_haematoxylin:
        return config.min_haematoxylin
    return max(float(threshold_otsu(sample)), config.min_haematoxylin)


def segment_field(rgb: np.ndarray, config: SegmentConfig = SegmentConfig()) -> list[Detection]:
    """Every white cell of the field, in reading order (top to bottom, left to right)."""
    h_full = haematoxylin(rgb)
    factor = work_factor(config)
    h_work = _reduce(h_full, factor)
    threshold = _threshold(h_work, config)
    labels = _cell_labels(h_work > threshold, config, factor)
    detections = _refined(labels, h_full, threshold, factor, config)
    return sorted(detections, key=lambda d: (d.box.y0 // 32, d.box.x0))


def _cell_labels(foreground: np.ndarray, config: SegmentConfig, factor: int) -> np.ndarray:
    """Label image of single cells on the reduced copy: blobs of a cell's size kept as they are,
    larger ones split by the watershed."""
    from scipy import ndimage

    typical = config.typical_area / factor**2
    foreground = ndimage.binary_opening(foreground, structure=np.ones((3, 3), bool))
    foreground = ndimage.binary_fill_holes(foreground)
    labels, count = ndimage.label(foreground)
    if count == 0:
        return labels
    areas = np.bincount(labels.ravel())
    keep = areas >= config.min_area * typical
    keep[0] = False
    labels = np.where(keep[labels], labels, 0)
    out = np.zeros_like(labels)
    next_label = 1
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None or not keep[index]:
            continue
        blob = labels[region] == index
        parts = _split(blob, config, factor)
        n = int(parts.max())
        view = out[region]
        view[parts > 0] = parts[parts > 0] + next_label - 1
        next_label += n
    return out


def _split(blob: np.ndarray, config: SegmentConfig, factor: int) -> np.ndarray:
    """Touching cells of one blob as labels 1..n: watershed on the distance transform seeded by
    its h-maxima, then parts joined again where they meet along a neck too wide for two cells
    (the lobes of one irregular cell)."""
    from scipy import ndimage
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    padded = np.pad(blob, 1)
    distance = ndimage.distance_transform_edt(padded)
    radius = config.cell_diameter / 2 / factor
    peaks = h_maxima(distance, config.split_dynamic * radius)
    markers, count = ndimage.label(peaks, structure=np.ones((3, 3), bool))  # 8-connected plateaus
    if count <= 1:
        return blob.astype(np.int32)
    parts = watershed(-distance, markers, mask=padded)[1:-1, 1:-1].astype(np.int32)
    return _join_lobes(parts, count, config.min_area * config.typical_area / factor**2)


def _join_lobes(parts: np.ndarray, count: int, min_area: float) -> np.ndarray:
    """Merge two parts when the line they share is longer than SPLIT_NECK of the smaller part's
    equivalent diameter (two round cells meet along a short neck), or when a part is too small
    to be a cell on its own."""
    from scipy import ndimage

    areas = np.bincount(parts.ravel(), minlength=count + 1).astype(np.float64)
    contacts: dict[tuple[int, int], int] = {}
    for u in range(1, count + 1):
        ring = ndimage.binary_dilation(parts == u) & (parts > u)
        for v, length in enumerate(np.bincount(parts[ring], minlength=count + 1)):
            if length:
                contacts[(u, v)] = int(length)  # pixels of v along u: the shared line's length
    root = list(range(count + 1))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for (u, v), length in sorted(contacts.items(), key=lambda item: -item[1]):
        ru, rv = find(u), find(v)
        if ru == rv:
            continue
        small = min(areas[ru], areas[rv])
        diameter = 2 * math.sqrt(small / math.pi)
        if length > SPLIT_NECK * diameter or small < min_area:
            root[rv] = ru
            areas[ru] += areas[rv]
    lookup = np.asarray([find(i) for i in range(count + 1)])
    _, relabelled = np.unique(lookup[parts], return_inverse=True)
    return relabelled.reshape(parts.shape).astype(np.int32)


def _refined(
    labels: np.ndarray, h_full: np.ndarray, threshold: float, factor: int, config: SegmentConfig
) -> list[Detection]:
    """Each labelled cell redrawn at full resolution: the pixels above the threshold in its box
    that are nearer to it than to a neighbour (its region, enlarged by one reduced pixel)."""
    from scipy import ndimage

    height, width = h_full.shape
    detections: list[Detection] = []
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        ys, xs = region
        y0, y1 = max(0, (ys.start - 1) * factor), min(height, (ys.stop + 1) * factor)
        x0, x1 = max(0, (xs.start - 1) * factor), min(width, (xs.stop + 1) * factor)
        local = labels[max(0, ys.start - 1) : ys.stop + 1, max(0, xs.start - 1) : xs.stop + 1]
        own = ndimage.binary_dilation(local == index, iterations=1)
        own = np.repeat(np.repeat(own, factor, axis=0), factor, axis=1)
        own = own[: y1 - y0, : x1 - x0]
        if own.shape != (y1 - y0, x1 - x0):  # the field's last rows/columns past the reduced copy
            own = np.pad(
                own, ((0, y1 - y0 - own.shape[0]), (0, x1 - x0 - own.shape[1])), mode="edge"
            )
        patch = h_full[y0:y1, x0:x1]
        mask = _largest(ndimage.binary_fill_holes((patch > threshold) & own))
        if mask is None:
            continue
        detection = _detection(mask, patch, x0, y0, threshold, config, (height, width))
        if detection is not None:
            detections.append(detection)
    return detections


def _largest(mask: np.ndarray) -> np.ndarray | None:
    from scipy import ndimage

    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    if count == 1:
        return labels == 1
    return labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))


def _detection(
    mask: np.ndarray,
    patch: np.ndarray,
    x0: int,
    y0: int,
    threshold: float,
    config: SegmentConfig,
    shape: tuple[int, int],
) -> Detection | None:
    area = int(np.count_nonzero(mask))
    if not config.min_area * config.typical_area <= area <= config.max_area * config.typical_area:
        return None
    box = box_of(mask, x0=x0, y0=y0)
    local = mask[box.y0 - y0 : box.y1 - y0, box.x0 - x0 : box.x1 - x0]
    values = patch[box.y0 - y0 : box.y1 - y0, box.x0 - x0 : box.x1 - x0][local]
    edge = box.x0 == 0 or box.y0 == 0 or box.x1 == shape[1] or box.y1 == shape[0]
    return Detection(box, local, _score(local, values, threshold, area, config, edge), edge)


def _score(
    mask: np.ndarray,
    values: np.ndarray,
    threshold: float,
    area: int,
    config: SegmentConfig,
    edge: bool,
) -> float:
    """Confidence that this is one white cell: stain contrast over the threshold, how convex the
    outline is (a cell is; a smear of stain or a clump is not) and a typical size."""
    from skimage.morphology import convex_hull_image

    contrast = min(1.0, float(np.median(values)) / threshold - 1.0)
    solidity = area / max(1, int(np.count_nonzero(convex_hull_image(mask))))
    ratio = area / config.typical_area
    size = 1.0 if edge or 0.35 <= ratio <= 2.5 else max(0.2, 1.0 - abs(math.log(ratio / 1.0)) / 3)
    return round(max(0.0, contrast) ** 0.5 * solidity * size, 4)


def segment_at(
    rgb: np.ndarray, x: int, y: int, config: SegmentConfig = SegmentConfig()
) -> Detection | None:
    """The cell under (or nearest to) a reviewer's click: the field is segmented again in a window
    around the point, more leniently (threshold from the window, half the size floor), and the
    region holding the point (or whose centre is within a radius of it) is returned."""
    height, width = rgb.shape[:2]
    if not (0 <= x < width and 0 <= y < height):
        return None
    reach = int(config.cell_diameter * 1.5)
    x0, y0 = max(0, x - reach), max(0, y - reach)
    x1, y1 = min(width, x + reach + 1), min(height, y + reach + 1)
    window = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    lenient = SegmentConfig(
        cell_diameter=config.cell_diameter,
        min_area=config.min_area / 2,
        max_area=config.max_area,
        min_haematoxylin=config.min_haematoxylin * 0.7,
        split_dynamic=config.split_dynamic,
    )
    found = segment_field(window, lenient)
    best = _nearest(found, x - x0, y - y0, config.cell_diameter / 2)
    if best is None:
        return None
    box = Box(best.box.x0 + x0, best.box.y0 + y0, best.box.x1 + x0, best.box.y1 + y0)
    edge = box.x0 == 0 or box.y0 == 0 or box.x1 == width or box.y1 == height
    return Detection(box, best.mask, best.score, edge)


def _nearest(found: list[Detection], x: int, y: int, reach: float) -> Detection | None:
    for detection in found:
        b = detection.box
        if b.x0 <= x < b.x1 and b.y0 <= y < b.y1 and detection.mask[y - b.y0, x - b.x0]:
            return detection
    best, best_distance = None, reach
    for detection in found:
        ys, xs = np.nonzero(detection.mask)
        cx, cy = detection.box.x0 + xs.mean(), detection.box.y0 + ys.mean()
        distance = math.hypot(cx - x, cy - y)
        if distance <= best_distance:
            best, best_distance = detection, distance
    return best
