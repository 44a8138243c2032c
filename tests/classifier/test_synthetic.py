from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.synthetic import (
    LABELS,
    SyntheticCell,
    contact_sheet,
    make_case_cells,
    make_cell,
    random_tone,
    write_cnmc_folder,
)
from tests.paths import CNMC_DIR

SEEDS = range(20)
CNMC_NAME = re.compile(r"^UID_(H?\d+)_(\d+)_(\d+)_(all|hem)$")


def _pixels(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Float RGB array and the mask of non-black (cell) pixels."""
    rgb = np.asarray(image, dtype=np.float64)
    return rgb, rgb.sum(axis=2) > 0


def _contrast(image: Image.Image) -> float:
    # Spread of cell brightness: dark nucleus against pale cytoplasm is wide, a blast is narrow.
    rgb, mask = _pixels(image)
    luminance = rgb.mean(axis=2)[mask]
    return float(np.percentile(luminance, 90) - np.percentile(luminance, 10))


@pytest.fixture(scope="module")
def cells() -> dict[str, list[Image.Image]]:
    return {label: [make_cell(label, seed) for seed in SEEDS] for label in LABELS}


def test_same_label_and_seed_give_identical_pixels() -> None:
    assert make_cell("all", 123).tobytes() == make_cell("all", 123).tobytes()
    assert make_cell("hem", 123).tobytes() == make_cell("hem", 123).tobytes()


def test_other_seed_or_label_gives_other_pixels() -> None:
    assert make_cell("all", 1).tobytes() != make_cell("all", 2).tobytes()
    assert make_cell("all", 1).tobytes() != make_cell("hem", 1).tobytes()


def test_generation_does_not_touch_global_random_state() -> None:
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    make_cell("hem", 5)
    assert np.random.random() == expected


def test_cell_is_450_rgb_on_pure_black(cells: dict[str, list[Image.Image]]) -> None:
    for image in cells["all"] + cells["hem"]:
        assert image.size == (450, 450)
        assert image.mode == "RGB"
        rgb, mask = _pixels(image)
        for corner in (rgb[:10, :10], rgb[:10, -10:], rgb[-10:, :10], rgb[-10:, -10:]):
            assert not corner.any()
        # Real C-NMC cells cover roughly 4-25 % of the frame.
        assert 0.04 < mask.mean() < 0.35


def test_cell_is_roughly_centred(cells: dict[str, list[Image.Image]]) -> None:
    for image in cells["all"] + cells["hem"]:
        _, mask = _pixels(image)
        rows, cols = np.nonzero(mask)
        assert abs(rows.mean() - 225) < 60
        assert abs(cols.mean() - 225) < 60


def test_cell_is_purple(cells: dict[str, list[Image.Image]]) -> None:
    # Giemsa-stained cells: red and blue above green.
    for image in cells["all"] + cells["hem"]:
        rgb, mask = _pixels(image)
        red, green, blue = rgb[mask].mean(axis=0)
        assert red > green + 5
        assert blue > green + 15


def test_blasts_are_larger_on_average_but_sizes_overlap(
    cells: dict[str, list[Image.Image]],
) -> None:
    area = {label: [_pixels(image)[1].sum() for image in cells[label]] for label in LABELS}
    assert np.mean(area["all"]) > 1.3 * np.mean(area["hem"])
    assert max(area["hem"]) > min(area["all"])


def test_normal_cells_show_dark_nucleus_against_pale_cytoplasm(
    cells: dict[str, list[Image.Image]],
) -> None:
    blast = [_contrast(image) for image in cells["all"]]
    normal = [_contrast(image) for image in cells["hem"]]
    assert max(blast) < min(normal)


def test_normal_cells_have_darker_chromatin(cells: dict[str, list[Image.Image]]) -> None:
    def darkest(image: Image.Image) -> float:
        rgb, mask = _pixels(image)
        return float(np.percentile(rgb.mean(axis=2)[mask], 10))

    blast = np.mean([darkest(image) for image in cells["all"]])
    normal = np.mean([darkest(image) for image in cells["hem"]])
    assert normal < blast - 10


@pytest.mark.parametrize("label", ["ALL", "blast", "", "unsure"])
def test_unknown_label_is_rejected(label: str) -> None:
    with pytest.raises(ValueError, match="label"):
        make_cell(label, 0)


def _mean_colour(image: Image.Image) -> np.ndarray:
    rgb, mask = _pixels(image)
    return rgb[mask].mean(axis=0)


def test_patients_differ_in_stain_tone() -> None:
    # Means of 8 cells per patient vary far more between patients than sampling noise explains.
    tones = [random_tone(np.random.default_rng(seed)) for seed in range(6)]
    colours = np.array(
        [[_mean_colour(make_cell("all", s, tone=t)) for s in range(8)] for t in tones]
    )
    between = colours.mean(axis=1).std(axis=0).mean()
    sampling_error = colours.std(axis=1).mean() / np.sqrt(8)
    assert between > 2 * sampling_error


def test_write_cnmc_folder_uses_cnmc_layout(tmp_path: Path) -> None:
    written = write_cnmc_folder(tmp_path, n_patients=4, cells_per_patient=3, seed=9)
    assert len(written) == 12
    assert {cell.patient for cell in written} == {"1", "2", "H1", "H2"}
    for cell in written:
        assert isinstance(cell, SyntheticCell)
        assert cell.path.parent == tmp_path / cell.label
        match = CNMC_NAME.match(cell.path.stem)
        assert match, cell.path.name
        patient, _, _, label = match.groups()
        assert (patient, label) == (cell.patient, cell.label)
        assert cell.label == ("hem" if patient.startswith("H") else "all")
        assert cell.path.suffix == ".png"
        assert Image.open(cell.path).size == (450, 450)
    assert len({cell.path for cell in written}) == 12
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(c.path for c in written)


def test_write_cnmc_folder_is_deterministic_and_writes_bmp(tmp_path: Path) -> None:
    first = write_cnmc_folder(
        tmp_path / "a",
        n_patients=3,
        cells_per_patient=2,
        seed=4,
        fmt="bmp",
        blast_patient_fraction=1 / 3,
    )
    second = write_cnmc_folder(
        tmp_path / "b",
        n_patients=3,
        cells_per_patient=2,
        seed=4,
        fmt="bmp",
        blast_patient_fraction=1 / 3,
    )
    assert [c.patient for c in first] == ["1", "1", "H1", "H1", "H2", "H2"]
    for one, two in zip(first, second, strict=True):
        assert one.path.name == two.path.name
        assert one.path.suffix == ".bmp"
        assert one.path.read_bytes() == two.path.read_bytes()


def test_write_cnmc_folder_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        write_cnmc_folder(tmp_path, n_patients=1, cells_per_patient=1, seed=0, fmt="jpg")


@pytest.mark.parametrize(("fraction", "blasts"), [(0.0, 0), (0.75, 6), (1.0, 8)])
def test_case_cells_have_requested_blast_share(fraction: float, blasts: int) -> None:
    cells = make_case_cells(seed=3, n_cells=8, blast_fraction=fraction)
    assert len(cells) == 8
    assert sum(label == "all" for label, _ in cells) == blasts
    assert all(label in LABELS and image.size == (450, 450) for label, image in cells)


def test_case_cells_are_deterministic() -> None:
    first = make_case_cells(seed=11, n_cells=4, blast_fraction=0.5)
    second = make_case_cells(seed=11, n_cells=4, blast_fraction=0.5)
    assert [label for label, _ in first] == [label for label, _ in second]
    assert all(a.tobytes() == b.tobytes() for (_, a), (_, b) in zip(first, second, strict=True))


def test_case_cells_reject_bad_fraction() -> None:
    with pytest.raises(ValueError):
        make_case_cells(seed=0, n_cells=4, blast_fraction=1.5)


def test_synthetic_colour_and_size_resemble_real_cnmc() -> None:
    root = CNMC_DIR
    if not (root / "labels.csv").is_file():
        pytest.skip(f"C-NMC data not found at {root}")
    real = sorted((root / "images").glob("*/*.png"))[::100]
    synthetic = [make_cell(LABELS[i % 2], i) for i in range(len(real))]

    def summary(images: list[Image.Image]) -> tuple[np.ndarray, float]:
        stats = [_pixels(image) for image in images]
        colour = np.mean([rgb[mask].mean(axis=0) for rgb, mask in stats], axis=0)
        return colour, float(np.mean([mask.mean() for _, mask in stats]))

    real_colour, real_cover = summary([Image.open(path).convert("RGB") for path in real])
    syn_colour, syn_cover = summary(synthetic)
    assert np.abs(real_colour - syn_colour).max() < 25
    assert 0.5 < syn_cover / real_cover < 2.0


def test_contact_sheet_shows_both_classes() -> None:
    sheet = contact_sheet(per_class=2, columns=2, thumb=40)
    assert sheet.size == (2 * 80 + 16, 28 + 40)
    rgb = np.asarray(sheet)
    assert rgb[28:, :80].any() and rgb[28:, 96:].any()
