from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from classifier.data import (
    Sample,
    data_summary,
    load_crop,
    pos_weight,
    samples_from_cnmc_folder,
    samples_from_manifest,
)
from classifier.errors import ImageError, LabelError, ManifestError
from classifier.splits import patient_split


def _cell(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (450, 450)).save(path)
    return str(path)


def test_folder_layout_gives_labels_and_patients(cell_folder: Path) -> None:
    samples = samples_from_cnmc_folder(cell_folder)
    assert len(samples) == 36
    assert {s.label for s in samples} == {"all", "hem"}
    assert all(s.patient.startswith("H") == (s.label == "hem") for s in samples)


def test_folder_accepts_images_subfolder_and_other_extensions(tmp_path: Path) -> None:
    _cell(tmp_path / "images" / "all" / "UID_7_1_2_all.bmp")
    _cell(tmp_path / "images" / "hem" / "UID_H3_4_1_hem.tif")
    (tmp_path / "images" / "hem" / "notes.txt").write_text("ignored")
    samples = samples_from_cnmc_folder(tmp_path)
    assert [(s.label, s.patient) for s in samples] == [("all", "7"), ("hem", "H3")]


def test_folder_with_a_mislabelled_file_is_refused(tmp_path: Path) -> None:
    _cell(tmp_path / "all" / "UID_H3_4_1_hem.png")
    with pytest.raises(LabelError, match="UID_H3_4_1_hem.png: name says 'hem'"):
        samples_from_cnmc_folder(tmp_path)


def test_folder_without_cnmc_names_is_refused(tmp_path: Path) -> None:
    _cell(tmp_path / "all" / "17.png")
    with pytest.raises(ManifestError, match="17.png: name is not UID_"):
        samples_from_cnmc_folder(tmp_path)


def test_manifest_resolves_relative_paths(tmp_path: Path) -> None:
    _cell(tmp_path / "x" / "a.png")
    (tmp_path / "m.csv").write_text("path,label,patient\nx/a.png,ALL,p1\n")
    assert samples_from_manifest(tmp_path / "m.csv") == [
        Sample(str(tmp_path / "x" / "a.png"), "all", "p1")
    ]


def test_empty_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("path,label,patient\n")
    with pytest.raises(ManifestError, match="m.csv: manifest has no rows"):
        samples_from_manifest(tmp_path / "m.csv")


def test_unknown_label_names_the_line(tmp_path: Path) -> None:
    _cell(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,label,patient\na.png,blast,p1\n")
    with pytest.raises(LabelError, match=r"m.csv:2: label 'blast' is not 'all' or 'hem'"):
        samples_from_manifest(tmp_path / "m.csv")


def test_manifest_with_missing_images_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("path,label,patient\ngone.png,all,p1\n")
    with pytest.raises(ManifestError, match="1 image files not found, e.g. .*gone.png"):
        samples_from_manifest(tmp_path / "m.csv")


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageError, match="broken.png: cannot decode image"):
        load_crop(bad, crop_fraction=2 / 3, size=32, name=str(bad))


def test_crop_is_centre_and_resized(tmp_path: Path) -> None:
    image = Image.new("RGB", (450, 450))
    image.paste((255, 0, 0), (75, 75, 375, 375))  # exactly the centre 300 px
    crop = load_crop(image, crop_fraction=2 / 3, size=30, name="red")
    assert crop.shape == (3, 30, 30)
    inner = crop[:, 1:-1, 1:-1]  # the outermost pixels blend with the frame around the box
    assert inner[0].min() == 255 and inner[1].max() == 0


def _many_patients() -> list[Sample]:
    sizes = {"1": 300, "2": 80, "3": 20, "4": 5, "5": 1, "H1": 300, "H2": 40, "H3": 3, "H4": 1}
    return [
        Sample(f"{p}_{i}.png", "hem" if p.startswith("H") else "all", p)
        for p, n in sizes.items()
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(6))
def test_split_never_puts_a_patient_in_both(seed: int) -> None:
    # 4 healthy patients: a quarter of the patients can give validation one of each class
    train, val = patient_split(_many_patients(), val_fraction=0.25, seed=seed)
    assert not {s.patient for s in train} & {s.patient for s in val}
    assert len(train) + len(val) == len(_many_patients())
    # stratified: both classes on both sides
    assert {s.label for s in val} == {"all", "hem"} == {s.label for s in train}


def test_split_is_repeatable_and_seed_dependent() -> None:
    even = [
        Sample(f"{p}{i}", lab, p)
        for lab, ps in (("all", "12345"), ("hem", "ABCDE"))
        for p in ps
        for i in range(10)
    ]
    splits = [patient_split(even, val_fraction=0.4, seed=s)[1] for s in (0, 0, 1, 2, 3)]
    assert splits[0] == splits[1]
    assert any({x.patient for x in s} != {x.patient for x in splits[0]} for s in splits[2:])


def test_split_fraction_zero_keeps_everything_for_training() -> None:
    train, val = patient_split(_many_patients(), val_fraction=0.0, seed=0)
    assert val == [] and len(train) == len(_many_patients())


def test_pos_weight_is_normal_over_blast() -> None:
    samples = [Sample("a", "all", "1")] * 4 + [Sample("h", "hem", "H1")] * 2
    assert pos_weight(samples) == pytest.approx(0.5)


def test_summary_counts_and_hash() -> None:
    samples = _many_patients()
    summary = data_summary(samples)
    assert summary["per_class"] == dict(Counter(s.label for s in samples))
    assert summary["patients"] == 9
    assert summary["files_sha256"] != data_summary(samples[:-1])["files_sha256"]


def test_jpeg_cells_decode_at_reduced_scale_to_the_same_crop(tmp_path: Path) -> None:
    image = Image.new("RGB", (450, 450))
    image.paste((200, 40, 120), (150, 150, 300, 300))
    image.save(tmp_path / "cell.jpg", quality=95)
    crop = load_crop(tmp_path / "cell.jpg", crop_fraction=2 / 3, size=64, name="cell")
    reference = load_crop(
        Image.open(tmp_path / "cell.jpg"), crop_fraction=2 / 3, size=64, name="cell"
    )
    assert crop.shape == (3, 64, 64)
    assert (crop.float() - reference.float()).abs().mean() < 4.0
