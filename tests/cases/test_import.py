"""manage.py import_cases: the C-NMC layout gives a case per patient with imported truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from allreview.cases.models import Case, Cell
from classifier.synthetic import make_cell, write_cnmc_folder
from tests.paths import CNMC_DIR


@pytest.fixture
def project(lab_a):
    return lab_a


def test_cnmc_layout_gives_one_case_per_patient_with_truth(project, tmp_path):
    written = write_cnmc_folder(
        tmp_path / "set", n_patients=4, cells_per_patient=3, seed=1, fmt="bmp"
    )
    call_command("import_cases", str(tmp_path / "set"), project=project.name, prefix="SYN-")
    codes = sorted(Case.objects.values_list("patient_code", flat=True))
    assert codes == sorted(f"SYN-{p}" for p in {c.patient for c in written})
    for case in Case.objects.all():
        truths = set(case.cells.values_list("truth", flat=True))
        assert truths == ({"hem"} if case.patient_code.startswith("SYN-H") else {"all"})
        assert case.cells.count() == 3


def test_plain_folder_gives_one_case(project, tmp_path):
    folder = tmp_path / "patient-x"
    folder.mkdir()
    for i in range(3):
        make_cell("hem", i).save(folder / f"{i}.tif")
    call_command("import_cases", str(folder), project=project.name)
    case = Case.objects.get()
    assert case.patient_code == "patient-x"
    assert set(case.cells.values_list("truth", flat=True)) == {""}


def test_file_whose_name_disagrees_with_its_folder_is_a_wrong_label(project, tmp_path):
    (tmp_path / "all").mkdir()
    make_cell("hem", 1).save(tmp_path / "all" / "UID_H1_1_1_hem.png")
    with pytest.raises(CommandError, match="disagrees"):
        call_command("import_cases", str(tmp_path), project=project.name)
    assert Case.objects.count() == 0


def test_corrupt_file_refuses_its_case_and_names_it(project, tmp_path):
    write_cnmc_folder(tmp_path, n_patients=2, cells_per_patient=2, seed=2)
    victim = sorted((tmp_path / "hem").glob("*.png"))[0]
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(CommandError, match=victim.name):
        call_command("import_cases", str(tmp_path), project=project.name)
    # the other patient's case was imported whole; the broken one not at all
    assert list(Case.objects.values_list("patient_code", flat=True)) == ["1"]


def test_unknown_project_and_missing_folder_are_clear_errors(project, tmp_path):
    with pytest.raises(CommandError, match="no project"):
        call_command("import_cases", str(tmp_path), project="Nope")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("import_cases", str(tmp_path / "missing"), project=project.name)


@pytest.mark.skipif(not CNMC_DIR.is_dir(), reason="real C-NMC cells not present")
def test_real_cnmc_cells_import(project):
    """The whole real set, read in place: 39 patients, a case each, with their C-NMC labels."""
    import csv

    rows = list(csv.DictReader((CNMC_DIR / "labels.csv").open()))
    call_command("import_cases", str(CNMC_DIR), project=project.name, prefix="CNMC-")
    expected = {f"CNMC-{r['patient']}": r["label"] for r in rows}
    assert dict(Case.objects.values_list("patient_code", "cells__truth").distinct()) == expected
    assert Cell.objects.count() == len(rows)
    assert set(Cell.objects.values_list("width", "height").distinct()) == {(450, 450)}


def test_cnmc_folder_name_is_found_under_images(tmp_path):
    from allreview.cases.folders import read_cnmc_layout

    write_cnmc_folder(tmp_path / "images", n_patients=2, cells_per_patient=1, seed=0)
    cases, problems = read_cnmc_layout(tmp_path)
    assert problems == [] and len(cases) == 2
    assert Path(cases[0].files[0][0]).exists()
