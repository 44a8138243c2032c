"""Realistic smear fields composed from real C-NMC cells, with exact ground truth.

Each white cell is cut from its C-NMC frame (the non-black pixels), scaled and rotated, and laid
on a smear-like background crowded with red cells and a few platelets; some white cells touch
another, some are cut by the field's edge. The field then gets a stain shift, uneven
illumination, blur and sensor noise. The ground truth of a cell is its box and the pixels where
its own alpha wins, so a cell partly covered by a later one keeps only what is visible.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from smear.masks import Box, box_of

# A C-NMC frame is black outside the cell; its border pixels fade to black over ~2 pixels.
CNMC_BLACK_LEVEL = 24  # sum of R+G+B at or below which a C-NMC pixel is background
BACKGROUND_RGB = (236.0, 224.0, 226.0)
RBC_RGB = (214.0, 148.0, 158.0)
PLATELET_RGB = (150.0, 95.0, 165.0)


@dataclass(frozen=True)
class SourceCell:
    path: Path
    label: str  # "all" or "hem"
    patient: str


@dataclass(frozen=True)
class TruthCell:
    source: SourceCell
    box: Box
    mask: np.ndarray  # bool, box-local
    edge: bool  # cut by the field's edge
    scale: float  # field pixels per C-NMC pixel
    angle: float  # degrees


@dataclass
class GeneratedField:
    image: np.ndarray  # uint8, H x W x 3
    cells: list[TruthCell] = field(default_factory=list)


@dataclass(frozen=True)
class FieldConfig:
    width: int = 2592
    height: int = 1944
    white_cells: tuple[int, int] = (6, 12)  # inclusive range per field
    scale: float = 0.5  # field pixels per C-NMC pixel (a lymphocyte of ~190 px becomes ~95)
    # One field, one magnification: a camera's scale is fixed, and cells already vary in size.
    # Jitter here would make a cell truly smaller or larger than its C-NMC twin (for the
    # classifier, size is a strong cue: an 8% smaller frame moves its F1 by 0.2).
    scale_jitter: float = 0.0
    max_angle: float = 360.0  # cells are rotated by up to this many degrees
    touching: float = 0.35  # share of cells placed against an earlier one
    edge_cells: tuple[int, int] = (1, 2)
    red_cover: float = 0.45  # share of the background covered by red cells
    platelets: tuple[int, int] = (15, 40)
    stain_jitter: float = 0.06  # relative change of optical density per channel
    vignette: float = 0.12  # darkening at the corners
    blur_sigma: float = 0.7
    noise_sigma: float = 2.5


def sources_from_cnmc(root: Path, *, patients: set[str] | None = None) -> list[SourceCell]:
    """The cells listed in a C-NMC developer set's labels.csv (optionally some patients only)."""
    with (root / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        SourceCell(root / row["file"], row["label"], row["patient"])
        for row in rows
        if patients is None or row["patient"] in patients
    ]


def cell_cutout(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A C-NMC cell's pixels (RGB) and mask (bool), both cropped to the mask's box."""
    from scipy import ndimage

    rgb = np.asarray(Image.open(path).convert("RGB"))
    mask = rgb.astype(np.int32).sum(axis=2) > CNMC_BLACK_LEVEL
    labels, count = ndimage.label(mask)
    if count == 0:
        raise ValueError(f"{path.name}: no cell on the black frame")
    if count > 1:  # keep the cell, not stray specks
        sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, count + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    mask = ndimage.binary_fill_holes(mask)
    box = box_of(mask)
    return rgb[box.y0 : box.y1, box.x0 : box.x1], mask[box.y0 : box.y1, box.x0 : box.x1]


def _transformed(
    rgb: np.ndarray, mask: np.ndarray, scale: float, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and rotate a cutout; returns RGB (float) and alpha in [0, 1]."""
    alpha = Image.fromarray((mask * 255).astype(np.uint8))
    image = Image.fromarray(rgb)
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    alpha = alpha.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    image = image.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    alpha = alpha.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    return np.asarray(image, dtype=np.float32), np.asarray(alpha, dtype=np.float32) / 255.0


def _background(config: FieldConfig, rng: np.random.Generator) -> np.ndarray:
    h, w = config.height, config.width
    base = np.empty((h, w, 3), dtype=np.float32)
    base[:] = np.asarray(BACKGROUND_RGB, dtype=np.float32) + rng.normal(0, 3, 3)
    # Slow variation of the smear's thickness: a coarse random grid, smoothly enlarged.
    coarse = rng.normal(0.0, 4.0, (6, 8)).astype(np.float32)
    smooth = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    base += smooth[..., None]
    return base


def _disc_profile(radius: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A red cell: a biconcave disc (darker rim, pale centre) as colour weight and alpha."""
    size = int(math.ceil(radius * 2 + 4))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    squash = rng.uniform(0.85, 1.0)
    theta = rng.uniform(0, math.pi)
    dx, dy = xx - c, yy - c
    u = dx * math.cos(theta) + dy * math.sin(theta)
    v = (-dx * math.sin(theta) + dy * math.cos(theta)) / squash
    r = np.sqrt(u * u + v * v) / radius
    alpha = np.clip((1.0 - r) * radius / 1.5, 0.0, 1.0)  # ~1.5 px soft edge
    density = 0.55 + 0.45 * np.clip(r, 0, 1) ** 2  # central pallor
    return density, alpha


def _paint_red_cells(canvas: np.ndarray, config: FieldConfig, rng: np.random.Generator) -> None:
    h, w = canvas.shape[:2]
    mean_radius = 0.42 * 190 * config.scale  # a red cell is a little smaller than a lymphocyte
    count = int(config.red_cover * h * w / (math.pi * mean_radius**2))
    rbc = np.asarray(RBC_RGB, dtype=np.float32)
    for _ in range(count):
        radius = mean_radius * rng.uniform(0.85, 1.15)
        density, alpha = _disc_profile(radius, rng)
        size = density.shape[0]
        x, y = (
            int(rng.integers(-size // 2, w - size // 2)),
            int(rng.integers(-size // 2, h - size // 2)),
        )
        _blend(canvas, x, y, _tint(rbc, density, rng), alpha * rng.uniform(0.75, 0.95))


def _tint(rgb: np.ndarray, density: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour of a stained body at relative density `density` (1: full)."""
    od = -np.log(np.clip(rgb * rng.uniform(0.97, 1.03, 3), 1, 255) / 255.0)
    return 255.0 * np.exp(-density[..., None] * od)


def _paint_platelets(canvas: np.ndarray, config: FieldConfig, rng: np.random.Generator) -> None:
    h, w = canvas.shape[:2]
    colour = np.asarray(PLATELET_RGB, dtype=np.float32)
    for _ in range(int(rng.integers(config.platelets[0], config.platelets[1] + 1))):
        radius = rng.uniform(3.0, 7.0) * config.scale * 2
        density, alpha = _disc_profile(radius, rng)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        _blend(canvas, x, y, _tint(colour, np.ones_like(density), rng), alpha)


def _blend(canvas: np.ndarray, x: int, y: int, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite `rgb` at (x, y), clipped to the canvas; returns the alpha actually used
    (field-sized window cut to the canvas) for ground truth."""
    h, w = canvas.shape[:2]
    ph, pw = alpha.shape
    cx0, cy0, cx1, cy1 = max(0, x), max(0, y), min(w, x + pw), min(h, y + ph)
    if cx0 >= cx1 or cy0 >= cy1:
        return alpha[:0, :0]
    a = alpha[cy0 - y : cy1 - y, cx0 - x : cx1 - x, None]
    region = canvas[cy0:cy1, cx0:cx1]
    region *= 1.0 - a
    region += a * rgb[cy0 - y : cy1 - y, cx0 - x : cx1 - x]
    return a[..., 0]


@dataclass
class _Placed:
    source: SourceCell
    x: int
    y: int
    alpha: np.ndarray
    scale: float
    angle: float


def _place(
    sizes: tuple[int, int],
    placed: list[_Placed],
    config: FieldConfig,
    rng: np.random.Generator,
    *,
    edge: bool,
    touch: bool,
) -> tuple[int, int]:
    """Top-left corner for a cutout of `sizes` (h, w): against an earlier cell, across the field
    edge, or free of the others."""
    ph, pw = sizes
    h, w = config.height, config.width
    if touch and placed:
        spot = _touching(sizes, placed, config, rng)
        if spot is not None:
            return spot
    if edge:
        side = int(rng.integers(4))
        cut = rng.uniform(0.25, 0.6)  # share of the cell outside the field
        if side in (0, 1):
            x = int(-pw * cut) if side == 0 else int(w - pw * (1 - cut))
            return x, int(rng.integers(0, h - ph))
        y = int(-ph * cut) if side == 2 else int(h - ph * (1 - cut))
        return int(rng.integers(0, w - pw)), y
    for _ in range(200):
        x, y = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
        if all(_apart(x, y, pw, ph, p) for p in placed):
            return x, y
    return x, y


def _radius(alpha: np.ndarray) -> float:
    return math.sqrt(float(np.count_nonzero(alpha >= 0.5)) / math.pi)


def _touching(
    sizes: tuple[int, int], placed: list[_Placed], config: FieldConfig, rng: np.random.Generator
) -> tuple[int, int] | None:
    """A spot against one earlier cell (centres a little closer than the sum of the radii, so
    the two touch or just overlap) that keeps clear of every other cell and of the edge."""
    ph, pw = sizes
    radius = 0.5 * min(ph, pw) / math.sqrt(2)  # the cell's own radius, not its rotated box's
    for _ in range(50):
        other = placed[int(rng.integers(len(placed)))]
        oh, ow = other.alpha.shape
        angle = rng.uniform(0, 2 * math.pi)
        distance = (_radius(other.alpha) + radius) * rng.uniform(0.85, 0.95)
        cx = other.x + ow / 2 + distance * math.cos(angle)
        cy = other.y + oh / 2 + distance * math.sin(angle)
        x, y = int(cx - pw / 2), int(cy - ph / 2)
        inside = x >= 0 and y >= 0 and x + pw <= config.width and y + ph <= config.height
        clear = all(
            p is other
            or math.hypot(cx - p.x - p.alpha.shape[1] / 2, cy - p.y - p.alpha.shape[0] / 2)
            >= _radius(p.alpha) + radius
            for p in placed
        )
        if inside and clear:
            return x, y
    return None


def _apart(x: int, y: int, pw: int, ph: int, other: _Placed) -> bool:
    oh, ow = other.alpha.shape
    gap = 0.15 * (pw + ow)
    return (
        x + pw + gap < other.x
        or other.x + ow + gap < x
        or y + ph + gap < other.y
        or other.y + oh + gap < y
    )


def field_generate(sources: list[SourceCell], config: FieldConfig, *, seed: int) -> GeneratedField:
    """One field with its ground truth; the same seed gives the same field."""
    rng = np.random.default_rng(seed)
    canvas = _background(config, rng)
    _paint_red_cells(canvas, config, rng)
    _paint_platelets(canvas, config, rng)
    count = int(rng.integers(config.white_cells[0], config.white_cells[1] + 1))
    edges = int(rng.integers(config.edge_cells[0], config.edge_cells[1] + 1))
    picks = rng.choice(len(sources), size=count, replace=False)
    placed: list[_Placed] = []
    for index, pick in enumerate(picks):
        source = sources[int(pick)]
        rgb, mask = cell_cutout(source.path)
        scale = config.scale * rng.uniform(1 - config.scale_jitter, 1 + config.scale_jitter)
        angle = float(rng.uniform(0, config.max_angle))
        cell_rgb, alpha = _transformed(rgb, mask, scale, angle)
        edge = index < edges
        touch = not edge and rng.random() < config.touching
        x, y = _place(alpha.shape, placed, config, rng, edge=edge, touch=touch)
        _blend(canvas, x, y, cell_rgb, alpha)
        placed.append(_Placed(source, x, y, alpha, scale, angle))
    image = _finish(canvas, config, rng)
    return GeneratedField(image=image, cells=_truth(placed, config))


def _truth(placed: list[_Placed], config: FieldConfig) -> list[TruthCell]:
    """Each cell owns the pixels where its alpha is at least half and no later cell covers it."""
    owner = np.full((config.height, config.width), -1, dtype=np.int32)
    for index, p in enumerate(placed):
        ph, pw = p.alpha.shape
        x0, y0 = max(0, p.x), max(0, p.y)
        x1, y1 = min(config.width, p.x + pw), min(config.height, p.y + ph)
        if x0 >= x1 or y0 >= y1:
            continue
        window = p.alpha[y0 - p.y : y1 - p.y, x0 - p.x : x1 - p.x] >= 0.5
        owner[y0:y1, x0:x1][window] = index
    cells: list[TruthCell] = []
    for index, p in enumerate(placed):
        ph, pw = p.alpha.shape
        x0, y0 = max(0, p.x), max(0, p.y)
        x1, y1 = min(config.width, p.x + pw), min(config.height, p.y + ph)
        if x0 >= x1 or y0 >= y1:
            continue
        mine = owner[y0:y1, x0:x1] == index
        if np.count_nonzero(mine) < 0.15 * np.count_nonzero(p.alpha >= 0.5):
            continue  # hardly anything of it is in the field: nobody could call it a cell
        box = box_of(mine, x0=x0, y0=y0)
        local = mine[box.y0 - y0 : box.y1 - y0, box.x0 - x0 : box.x1 - x0]
        edge = p.x < 0 or p.y < 0 or p.x + pw > config.width or p.y + ph > config.height
        edge = edge and (
            box.x0 == 0 or box.y0 == 0 or box.x1 == config.width or box.y1 == config.height
        )
        cells.append(TruthCell(p.source, box, local, bool(edge), p.scale, p.angle))
    return cells


def _finish(canvas: np.ndarray, config: FieldConfig, rng: np.random.Generator) -> np.ndarray:
    """Stain shift, uneven illumination, optics blur and sensor noise."""
    from scipy import ndimage

    h, w = canvas.shape[:2]
    od = -np.log(np.clip(canvas, 1.0, 255.0) / 255.0)
    od *= (1.0 + rng.uniform(-config.stain_jitter, config.stain_jitter, 3)).astype(np.float32)
    yy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    light = 1.0 - config.vignette * ((xx - cx) ** 2 + (yy - cy) ** 2) / 2.0
    image = 255.0 * np.exp(-od) * light[..., None] * rng.uniform(0.95, 1.03)
    if config.blur_sigma > 0:
        image = ndimage.gaussian_filter(image, sigma=(config.blur_sigma, config.blur_sigma, 0))
    image += rng.normal(0.0, config.noise_sigma, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)
