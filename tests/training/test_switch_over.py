"""After a promotion, open cases get the new model's predictions; nothing earlier is lost."""

from __future__ import annotations

from allreview.cases.classification import case_classify, case_reclassify
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Label, Prediction
from allreview.cases.services import case_upload
from allreview.mlmodels.services import model_version_promote, model_version_register
from allreview.review.services.labels import label_set
from allreview.training import execution as training_execution
from allreview.training import runs as training_runs
from allreview.training import selectors as training_selectors
from allreview.training.models import TrainingPolicy
from classifier.synthetic import write_cnmc_folder


def test_open_case_is_reclassified_with_the_new_model_and_keeps_its_review(
    lab_a, alice, cell_bytes, production_model, tiny_checkpoint
):
    case = case_upload(
        project=lab_a,
        user=alice,
        patient_code="SW-1",
        files=[IncomingFile(f"{i}.png", cell_bytes(i)) for i in range(3)],
    )
    case_classify(case_id=case.pk)
    cell = case.cells.first()
    label_set(cell=cell, user=alice, value="hem")
    new = model_version_register(checkpoint=tiny_checkpoint, name="v-new", project=lab_a)
    model_version_promote(version=new, project=lab_a)

    case_reclassify(case_id=case.pk)

    case.refresh_from_db()
    assert case.model_version == new and case.status == CaseStatus.IN_REVIEW
    assert Prediction.objects.filter(cell__case=case, model_version=new).count() == 3
    assert Prediction.objects.filter(cell__case=case, model_version=production_model).count() == 3
    assert Label.objects.get(cell=cell).value == "hem"


def test_signed_off_cases_are_not_reclassified(
    lab_a, alice, cell_bytes, production_model, tiny_checkpoint
):
    case = case_upload(
        project=lab_a, user=alice, patient_code="SW-2", files=[IncomingFile("a.png", cell_bytes(1))]
    )
    case_classify(case_id=case.pk)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.SIGNED_OFF)
    new = model_version_register(checkpoint=tiny_checkpoint, name="v-new", project=lab_a)
    model_version_promote(version=new, project=lab_a)
    case_reclassify(case_id=case.pk)
    case.refresh_from_db()
    assert case.model_version == production_model


def test_a_base_dataset_joins_the_reviewed_cells_as_separate_patients(reviewed_project, tmp_path):
    write_cnmc_folder(tmp_path / "base", n_patients=2, cells_per_patient=3, seed=5)
    TrainingPolicy.objects.filter(project=reviewed_project).update(
        base_dataset=str(tmp_path / "base")
    )
    policy = training_runs.policy_for(reviewed_project)
    samples = training_execution._samples(
        training_selectors.training_cells(project=reviewed_project), policy
    )
    base = [s for s in samples if s.patient.startswith("base:")]
    assert len(base) == 6 and {s.patient for s in base} == {"base:1", "base:H1"}
    assert len(samples) == 6 + 6 * 8  # the six reviewed patients' 8 cells each (none frozen yet)
