"""Synthetic C-NMC-style white-blood-cell images for demos and tests.

Each picture is 450x450 RGB with one segmented cell on a pure black background, like the
C-NMC 2019 images. Blasts (`all`) are large with a big, finely textured, lighter nucleus, a thin
cytoplasm rim and pale nucleoli; normal cells (`hem`) are smaller with a dense, dark, coarsely
clumped nucleus and a wider pale cytoplasm. Everything is drawn from a `numpy.random.Generator`
so that the same (label, seed) always gives the same pixels.

Colour follows Beer-Lambert: a pixel's optical density is a stain concentration times an
absorbance vector, which makes stain jitter (hue, saturation, strength) behave like real slides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LABELS = ("all", "hem")
FORMATS = ("png", "bmp")
IMAGE_SIZE = 450

# Render at half resolution and upscale: 4x fewer pixels keeps a cell well under 30 ms.
_SCALE = 2
_GRID = IMAGE_SIZE // _SCALE
# Absorbance per RGB channel of the nuclear stain, fitted to the mean colour of real C-NMC cells
# (about (72, 32, 83) -> optical density (1.27, 2.07, 1.12)).
_NUCLEUS_OD = np.array([1.27, 2.07, 1.12])
# Cytoplasm of lymphoid cells stains paler and bluer than chromatin.
_CYTOPLASM_OD = np.array([1.10, 1.45, 0.75])
_HARMONICS = 6
# Overall stain density, tuned so the mean cell colour lands near real C-NMC cells.
_DENSITY = 1.15


@dataclass(frozen=True)
class StainTone:
    """The stain of one slide: absorbance vectors, overall strength and light tint."""

    nucleus_od: tuple[float, float, float]
    cytoplasm_od: tuple[float, float, float]
    strength: float
    tint: tuple[float, float, float]


@dataclass(frozen=True)
class Outline:
    """A jittered ellipse: centre and semi-axes in pixels, rotation, Fourier edge wobble."""

    cx: float
    cy: float
    a: float
    b: float
    angle: float
    amps: tuple[float, ...]
    phases: tuple[float, ...]


@dataclass(frozen=True)
class CellPlan:
    """Everything random about one cell except pixel noise fields."""

    label: str
    cell: Outline
    nucleus: Outline
    nucleus_conc: float
    cytoplasm_conc: float
    fine_texture: float
    clump_texture: float
    clump_scale: float
    nucleoli: tuple[tuple[float, float, float], ...]
    edge_softness: float
    noise_sigma: float


@dataclass(frozen=True)
class SyntheticCell:
    """One file written by `write_cnmc_folder`."""

    path: Path
    label: str
    patient: str


# ---------------------------------------------------------------- stain


def random_tone(rng: np.random.Generator, spread: float = 1.0) -> StainTone:
    """A slide/patient stain: hue, saturation and brightness jitter around the C-NMC mean."""
    hue = rng.normal(0.0, 0.05 * spread, 3)  # per-channel absorbance change shifts the hue
    saturation = 1.0 + rng.normal(0.0, 0.08 * spread)
    nucleus = _saturate(_NUCLEUS_OD * np.exp(hue), saturation)
    cytoplasm = _saturate(
        _CYTOPLASM_OD * np.exp(hue + rng.normal(0.0, 0.05 * spread, 3)), saturation
    )
    strength = float(np.exp(rng.normal(0.0, 0.10 * spread)))
    tint = np.clip(1.0 + rng.normal(0.0, 0.025 * spread, 3), 0.9, 1.0)
    return StainTone(_triple(nucleus), _triple(cytoplasm), strength, _triple(tint))


def jitter_tone(tone: StainTone, rng: np.random.Generator, spread: float = 0.35) -> StainTone:
    """Small per-cell deviation from a patient's tone (cells on one slide still differ)."""
    cell = random_tone(rng, spread)
    return StainTone(
        nucleus_od=_triple(np.array(tone.nucleus_od) * np.array(cell.nucleus_od) / _NUCLEUS_OD),
        cytoplasm_od=_triple(
            np.array(tone.cytoplasm_od) * np.array(cell.cytoplasm_od) / _CYTOPLASM_OD
        ),
        strength=tone.strength * cell.strength,
        tint=tone.tint,
    )


def _saturate(od: np.ndarray, factor: float) -> np.ndarray:
    # Pulling the channels towards their mean makes the stain greyer, pushing away more vivid.
    mean = od.mean()
    result: np.ndarray = mean + (od - mean) * factor
    return result


def _triple(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


# ---------------------------------------------------------------- geometry


def _random_outline(
    rng: np.random.Generator, radius: float, aspect: float, wobble: float, cx: float, cy: float
) -> Outline:
    # Higher harmonics get smaller amplitudes so the outline stays cell-like, not star-like.
    amps = tuple(
        float(abs(rng.normal(0.0, wobble / k))) if k > 1 else 0.0 for k in range(1, _HARMONICS + 1)
    )
    phases = tuple(float(p) for p in rng.uniform(0.0, 2 * math.pi, _HARMONICS))
    a = radius * math.sqrt(aspect)
    return Outline(cx, cy, a, radius * radius / a, float(rng.uniform(0, math.pi)), amps, phases)


def sample_plan(label: str, rng: np.random.Generator) -> CellPlan:
    """Draw the morphology of one cell of the given class."""
    _check_label(label)
    blast = label == "all"
    # Diameters: blasts ~205-295 px, normal ~150-235 px; they overlap on purpose so that size
    # alone is not enough and a model must also look at nucleus, chromatin and nucleoli.
    diameter = rng.uniform(205.0, 295.0) if blast else rng.uniform(150.0, 235.0)
    radius = diameter / 2
    aspect = rng.uniform(1.0, 1.30)
    reach = radius * math.sqrt(aspect) * 1.12
    shift = max(0.0, min(40.0, IMAGE_SIZE / 2 - reach - 4))  # keep the cell inside the frame
    cx, cy = (float(c) for c in IMAGE_SIZE / 2 + rng.uniform(-shift, shift, 2))
    cell = _random_outline(rng, radius, aspect, 0.09 if blast else 0.05, cx, cy)
    nucleus = _nucleus_outline(rng, cell, blast)
    return CellPlan(
        label=label,
        cell=cell,
        nucleus=nucleus,
        nucleus_conc=rng.uniform(0.78, 0.92) if blast else rng.uniform(1.02, 1.18),
        cytoplasm_conc=rng.uniform(0.62, 0.76) if blast else rng.uniform(0.48, 0.62),
        fine_texture=rng.uniform(0.08, 0.13) if blast else rng.uniform(0.03, 0.05),
        clump_texture=rng.uniform(0.00, 0.04) if blast else rng.uniform(0.22, 0.34),
        clump_scale=rng.uniform(18.0, 28.0),
        nucleoli=_nucleoli(rng, nucleus) if blast else (),
        edge_softness=rng.uniform(1.0, 2.5),
        noise_sigma=rng.uniform(1.5, 4.0),
    )


def _nucleus_outline(rng: np.random.Generator, cell: Outline, blast: bool) -> Outline:
    # Blasts: nucleus fills most of the cell. Normal cells: smaller, often eccentric nucleus.
    ratio = rng.uniform(0.86, 0.94) if blast else rng.uniform(0.66, 0.80)
    radius = math.sqrt(cell.a * cell.b) * ratio
    room = math.sqrt(cell.a * cell.b) * (1 - ratio) * (0.3 if blast else 0.65)
    direction = rng.uniform(0, 2 * math.pi)
    offset = rng.uniform(0.0, room)
    cx = cell.cx + offset * math.cos(direction)
    cy = cell.cy + offset * math.sin(direction)
    return _random_outline(rng, radius, rng.uniform(1.0, 1.2), 0.06 if blast else 0.03, cx, cy)


def _nucleoli(rng: np.random.Generator, nucleus: Outline) -> tuple[tuple[float, float, float], ...]:
    count = int(rng.integers(1, 4))
    spots = []
    for _ in range(count):
        # Stay in the inner half of the nucleus so a nucleolus is never cut by its edge.
        r = math.sqrt(rng.uniform(0, 1)) * 0.5 * min(nucleus.a, nucleus.b)
        t = rng.uniform(0, 2 * math.pi)
        spots.append(
            (nucleus.cx + r * math.cos(t), nucleus.cy + r * math.sin(t), rng.uniform(8.0, 14.0))
        )
    return tuple(spots)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    # Pixel centres of the render grid in full-resolution pixel units.
    axis = (np.arange(_GRID, dtype=np.float32) + 0.5) * _SCALE
    return np.meshgrid(axis, axis, indexing="xy")


def _edge_distance(outline: Outline, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Approximate signed distance in pixels to the outline (positive inside)."""
    dx, dy = xx - np.float32(outline.cx), yy - np.float32(outline.cy)
    cos, sin = np.float32(math.cos(outline.angle)), np.float32(math.sin(outline.angle))
    u, v = (
        (dx * cos + dy * sin) / np.float32(outline.a),
        (dy * cos - dx * sin) / np.float32(outline.b),
    )
    rho = np.sqrt(u * u + v * v) + np.float32(1e-6)
    # cos/sin of k*theta by the Chebyshev recurrence: no arctan2 and no per-harmonic np.cos.
    c1, s1 = u / rho, v / rho
    ck, sk = c1, s1
    edge = np.ones_like(rho)
    for amp, phase in zip(outline.amps[1:], outline.phases[1:], strict=True):
        ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1
        # cos(k*theta + phase) = cos(k*theta) cos(phase) - sin(k*theta) sin(phase)
        edge += np.float32(amp * math.cos(phase)) * ck - np.float32(amp * math.sin(phase)) * sk
    return (edge - rho) * np.float32(math.sqrt(outline.a * outline.b))


# ---------------------------------------------------------------- texture


def _value_noise(rng: np.random.Generator, feature_px: float) -> np.ndarray:
    """Smooth zero-mean, unit-ish noise whose blobs are about `feature_px` full-res pixels wide."""
    cells = max(2, int(round(IMAGE_SIZE / feature_px)))
    coarse = rng.standard_normal((cells, cells), dtype=np.float32)
    return _resize_float(coarse, _GRID, Image.Resampling.BICUBIC)


def _resize_float(values: np.ndarray, size: int, method: Image.Resampling) -> np.ndarray:
    # Pillow's float mode needs float32; other dtypes would be read as garbage bytes.
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32))
    return np.asarray(image.resize((size, size), method))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    result: np.ndarray = x * x * (3 - 2 * x)
    return result


def _nucleus_concentration(
    plan: CellPlan, rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray
) -> np.ndarray:
    # Blast chromatin: fine granules over a faint mottle, both low contrast.
    fine = (_value_noise(rng, 7.0) + 0.6 * _value_noise(rng, 16.0)) * plan.fine_texture
    # Coarse chromatin: thresholded low-frequency noise gives separate dark clumps.
    clumps = _smoothstep((_value_noise(rng, plan.clump_scale) - 0.2) * 1.5) * plan.clump_texture
    conc = plan.nucleus_conc * (1 + fine + clumps + 0.05 * _value_noise(rng, 60.0))
    for x, y, r in plan.nucleoli:
        dist2 = ((xx - x) ** 2 + (yy - y) ** 2) / (r * r)
        conc *= 1 - 0.38 * np.exp(-(dist2**2))  # flat-topped pale spot
    return conc


def render_plan(plan: CellPlan, tone: StainTone, rng: np.random.Generator) -> Image.Image:
    """Draw a planned cell in a tone; `rng` supplies texture and pixel noise."""
    xx, yy = _grid()
    cell_d = _edge_distance(plan.cell, xx, yy)
    nucleus_d = _edge_distance(plan.nucleus, xx, yy)
    in_nucleus = _smoothstep(nucleus_d / (2 * plan.edge_softness) + 0.5)[..., None]
    nucleus = _nucleus_concentration(plan, rng, xx, yy)[..., None]
    cytoplasm = plan.cytoplasm_conc * (1 + 0.06 * _value_noise(rng, 10.0))[..., None]
    # Real segmented cells show a slightly darker membrane line.
    rim = 0.12 * np.exp(-np.maximum(cell_d, 0.0) / 6.0)[..., None]
    od = in_nucleus * nucleus * np.asarray(tone.nucleus_od, dtype=np.float32)
    od = od + (1 - in_nucleus) * (cytoplasm + rim) * np.asarray(tone.cytoplasm_od, dtype=np.float32)
    rgb = 255.0 * np.asarray(tone.tint, dtype=np.float32) * np.exp(-_DENSITY * tone.strength * od)
    small = Image.fromarray(np.clip(rgb, 1, 255).astype(np.uint8))
    blurred = np.asarray(small.filter(ImageFilter.GaussianBlur(plan.edge_softness / _SCALE)))
    noise = rng.normal(0.0, plan.noise_sigma, blurred.shape).astype(np.float32)
    # Inside pixels never reach 0 so that "non-black" means "cell".
    noisy = np.clip(blurred + noise, 1, 255).astype(np.uint8)
    return _cut_out(Image.fromarray(noisy), cell_d)


def _cut_out(small: Image.Image, cell_d: np.ndarray) -> Image.Image:
    """Upscale to the full frame and put the cell on pure black along a smooth outline."""
    pixels = np.array(small.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR))
    inside = _resize_float(cell_d, IMAGE_SIZE, Image.Resampling.BILINEAR) > 0
    pixels *= inside[..., None]
    return Image.fromarray(pixels)


# ---------------------------------------------------------------- public API


def _check_label(label: str) -> None:
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")


def make_cell(label: str, seed: int, *, tone: StainTone | None = None) -> Image.Image:
    """One 450x450 RGB cell of class `label` ("all" or "hem"); same inputs, same pixels.

    Without `tone` the stain is drawn from the seed; with it, the cell gets small jitter around it.
    """
    _check_label(label)
    rng = np.random.default_rng([seed, LABELS.index(label)])
    cell_tone = random_tone(rng) if tone is None else jitter_tone(tone, rng)
    return render_plan(sample_plan(label, rng), cell_tone, rng)


def make_case_cells(
    *, seed: int, n_cells: int, blast_fraction: float
) -> list[tuple[str, Image.Image]]:
    """One demo patient's cells as (label, image), all in one patient-level stain tone.

    A leukemic patient typically has blast_fraction 0.6-0.9, a healthy one 0.0-0.05; exactly
    round(n_cells * blast_fraction) cells are blasts, in random order.
    """
    if n_cells < 0 or not 0.0 <= blast_fraction <= 1.0:
        raise ValueError("need n_cells >= 0 and 0 <= blast_fraction <= 1")
    rng = np.random.default_rng([seed, 7])
    tone = random_tone(rng)
    n_blasts = int(round(n_cells * blast_fraction))
    labels = ["all"] * n_blasts + ["hem"] * (n_cells - n_blasts)
    order = rng.permutation(n_cells)
    seeds = rng.integers(0, 2**31, n_cells)
    return [
        (labels[i], make_cell(labels[i], int(s), tone=tone))
        for i, s in zip(order, seeds, strict=True)
    ]


def write_cnmc_folder(
    root: Path,
    *,
    n_patients: int,
    cells_per_patient: int,
    seed: int,
    fmt: str = "png",
    blast_patient_fraction: float = 0.5,
) -> list[SyntheticCell]:
    """Write a C-NMC-style folder of synthetic cells and return what was written.

    Layout: root/all/UID_<p>_<image>_<cell>_all.<fmt> for leukemic patients ("1", "2", ...) and
    root/hem/UID_H<p>_<image>_<cell>_hem.<fmt> for healthy ones ("H1", ...). All cells of a
    patient share that patient's stain tone, so patients differ as on real slides.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if n_patients < 0 or cells_per_patient < 0 or not 0.0 <= blast_patient_fraction <= 1.0:
        raise ValueError("need n_patients >= 0, cells_per_patient >= 0, fraction in [0, 1]")
    n_blast = int(round(n_patients * blast_patient_fraction))
    patients = [(str(p), "all") for p in range(1, n_blast + 1)]
    patients += [(f"H{p}", "hem") for p in range(1, n_patients - n_blast + 1)]
    written: list[SyntheticCell] = []
    for index, (patient, label) in enumerate(patients):
        rng = np.random.default_rng([seed, 11, index])
        written += _write_patient(Path(root), patient, label, cells_per_patient, fmt, rng)
    return written


def _write_patient(
    root: Path, patient: str, label: str, n_cells: int, fmt: str, rng: np.random.Generator
) -> list[SyntheticCell]:
    folder = root / label
    folder.mkdir(parents=True, exist_ok=True)
    tone = random_tone(rng)
    written = []
    for image_no, cell_no in _image_cell_numbers(n_cells, rng):
        path = folder / f"UID_{patient}_{image_no}_{cell_no}_{label}.{fmt}"
        make_cell(label, int(rng.integers(0, 2**31)), tone=tone).save(path)
        written.append(SyntheticCell(path=path, label=label, patient=patient))
    return written


def _image_cell_numbers(n_cells: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    # As in C-NMC, one microscope image yields one to three segmented cells.
    numbers: list[tuple[int, int]] = []
    image_no = 0
    while len(numbers) < n_cells:
        image_no += 1
        per_image = int(rng.integers(1, 4))
        numbers += [(image_no, c) for c in range(1, per_image + 1)]
    return numbers[:n_cells]


def contact_sheet(
    *, per_class: int = 16, columns: int = 4, seed: int = 0, thumb: int = 140
) -> Image.Image:
    """A labelled grid of `per_class` cells of each class side by side (for docs and eyeballing).

    Regenerate the docs picture with
    `python -c "from classifier.synthetic import contact_sheet as c; c().save('docs/img/synthetic_cells.png')"`.
    """
    rows = -(-per_class // columns)
    header, gap = 28, 16
    block = columns * thumb
    sheet = Image.new("RGB", (2 * block + gap, header + rows * thumb), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    margin = 25  # the outer 25 px of the 450 frame are always black
    for k, label in enumerate(LABELS):
        left = k * (block + gap)
        title = "all: leukemic blast" if label == "all" else "hem: normal cell"
        draw.text((left + 6, 6), f"{title} (seeds {seed}-{seed + per_class - 1})", fill="white")
        for i in range(per_class):
            image = make_cell(label, seed + i).crop(
                (margin, margin, IMAGE_SIZE - margin, IMAGE_SIZE - margin)
            )
            x, y = left + (i % columns) * thumb, header + (i // columns) * thumb
            sheet.paste(image.resize((thumb, thumb), Image.Resampling.LANCZOS), (x, y))
    return sheet
