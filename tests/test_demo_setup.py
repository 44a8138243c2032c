from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command

from allreview.cases.models import Case, CaseStatus, Label
from allreview.projects.models import Membership, Project
from allreview.review.selectors.final import disputed_count


def test_demo_setup_creates_admin_project_and_cases_once(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo_setup", skip_model=True)
    password = (tmp_path / "admin_password").read_text().strip()
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password) and admin.is_superuser
    project = Project.objects.get(name="Demo lab")
    assert Membership.objects.filter(project=project, user=admin, role="admin").exists()
    assert Case.objects.count() == 5
    assert set(Case.objects.values_list("status", flat=True)) == {CaseStatus.QUEUED}
    truths = set(Case.objects.get(patient_code="DEMO-001").cells.values_list("truth", flat=True))
    assert truths == {"all", "hem"}

    double = Case.objects.get(patient_code="DEMO-003")
    readers = set(double.readers.values_list("user__username", "blinded"))
    assert readers == {("rita", False), ("sam", True)}
    assert Label.objects.filter(cell__case=double).count() == 2 * double.cells.count()
    assert 0 < disputed_count(case=double) < double.cells.count()  # some honest disagreements

    call_command("demo_setup", skip_model=True)  # a second run reuses everything
    assert Case.objects.count() == 5
    assert get_user_model().objects.count() == 3
    assert Label.objects.filter(cell__case=double).count() == 2 * double.cells.count()
    assert (tmp_path / "admin_password").read_text().strip() == password


def test_demo_setup_seeds_a_field_case_that_the_worker_cuts_into_cells(
    db, settings, tmp_path, monkeypatch
):
    from allreview.fields.models import Field, FieldStatus
    from allreview.fields.segmentation import case_fields_segment

    for where in ("allreview.cases.services", "allreview.fields.segmentation"):
        monkeypatch.setattr(f"{where}.task_send", lambda task, *args: True)
    settings.VAR_DIR = tmp_path
    call_command("demo_setup", skip_model=True)
    case = Case.objects.get(patient_code="DEMO-005")
    field = Field.objects.get(case=case)
    assert (field.width, field.height, field.status) == (1600, 1200, FieldStatus.PENDING)
    assert not case.cells.exists()  # its cells come from the worker, through the normal path
    case_fields_segment(case_id=case.pk)
    field.refresh_from_db()
    assert field.status == FieldStatus.DONE and field.cells_found == 8  # the 8 cells drawn
    cells = case.cells.all()
    assert {(c.width, c.height) for c in cells} == {(450, 450)}
    assert all(c.model_input for c in cells)
