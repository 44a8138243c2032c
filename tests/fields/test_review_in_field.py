"""Reviewing cells in their field: reject a detection, add a missed cell by a click; both
audited, refused on a signed-off case; exports carry the provenance."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, CaseStatus, Cell, Label
from allreview.exports.selectors import export_cells
from allreview.fields.models import CellOrigin, CellProvenance, Field
from allreview.fields.segmentation import case_fields_segment
from allreview.projects.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.fields.helpers import drawn_field

pytestmark = pytest.mark.django_db

MISSED = (420, 600, 50)  # a white cell the first segmentation did not see


@pytest.fixture
def segmented(field_case, sent) -> Field:
    case_fields_segment(case_id=field_case.pk)
    Case.objects.filter(pk=field_case.pk).update(status=CaseStatus.READY)
    return Field.objects.get(case=field_case)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict) -> object:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_field_page_shows_every_cell_outlined_with_its_label(segmented, alice):
    page = client_of(alice).get(f"/fields/{segmented.pk}/")
    assert page.status_code == 200
    data = json.loads(
        page.content.decode()
        .split('id="field-page" type="application/json">')[1]
        .split("</script>")[0]
    )
    assert len(data["cells"]) == 3 and data["can_label"]
    assert all(c["polygon"] and c["label"] is None and not c["rejected"] for c in data["cells"])
    image = client_of(alice).get(f"/fields/{segmented.pk}/image/")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"


def test_rejecting_a_detection_labels_it_artifact_and_is_audited(segmented, alice):
    cell = CellProvenance.objects.filter(field=segmented).first().cell
    response = post(client_of(alice), f"/fields/cells/{cell.pk}/reject/", {"reason": "red cell"})
    assert response.status_code == 200
    row = next(c for c in response.json()["cells"] if c["id"] == cell.pk)
    assert row["rejected"] and row["label"] == "artifact"
    assert Label.objects.get(cell=cell).value == "artifact"
    event = AuditEvent.objects.get(action="field.detection_reject")
    assert event.after == {"field": segmented.pk, "reason": "red cell"} and event.actor == alice
    again = post(client_of(alice), f"/fields/cells/{cell.pk}/reject/", {})
    assert again.status_code == 400 and "already" in again.json()["detail"]


def test_adding_a_missed_cell_by_a_click_cuts_it_from_the_field(
    segmented, alice, sent, monkeypatch
):
    # The field on disk now also holds a cell the segmentation had not seen (drawn there).
    with segmented.image.open("wb") as handle:
        handle.write(drawn_field(cells=((220, 200, 50), (640, 420, 55), (820, 160, 48), MISSED)))
    response = post(client_of(alice), f"/fields/{segmented.pk}/cells/", {"x": 425, "y": 598})
    assert response.status_code == 201, response.content
    cell = Cell.objects.get(pk=response.json()["cell"])
    provenance = cell.provenance
    assert provenance.origin == CellOrigin.ADDED and provenance.added_by == alice
    assert provenance.x0 < 420 < provenance.x1 and provenance.y0 < 600 < provenance.y1
    assert (cell.width, cell.height) == (450, 450)
    assert AuditEvent.objects.filter(action="field.cell_add", target_id=str(cell.pk)).exists()
    assert len(response.json()["cells"]) == 4


def test_a_click_on_background_or_on_an_outlined_cell_adds_nothing(segmented, alice):
    client = client_of(alice)
    empty = post(client, f"/fields/{segmented.pk}/cells/", {"x": 20, "y": 730})
    assert empty.status_code == 400 and "no white cell found" in empty.json()["detail"]
    twice = post(client, f"/fields/{segmented.pk}/cells/", {"x": 640, "y": 420})
    assert twice.status_code == 400 and "already outlined" in twice.json()["detail"]
    outside = post(client, f"/fields/{segmented.pk}/cells/", {"x": 5000, "y": 1})
    assert outside.status_code == 400
    bad = post(client, f"/fields/{segmented.pk}/cells/", {"x": "a"})
    assert bad.status_code == 400
    assert Cell.objects.filter(case=segmented.case).count() == 4


def test_nothing_changes_on_a_signed_off_case(segmented, alice):
    Case.objects.filter(pk=segmented.case_id).update(status=CaseStatus.SIGNED_OFF)
    cell = CellProvenance.objects.filter(field=segmented).first().cell
    client = client_of(alice)
    assert post(client, f"/fields/cells/{cell.pk}/reject/", {}).status_code == 409
    assert CellProvenance.objects.get(cell=cell).rejected_at is None
    assert not Label.objects.exists()


def test_an_uploader_sees_the_field_but_may_not_reject(segmented, lab_a):
    uploader = UserFactory(username="ulla")
    MembershipFactory(project=lab_a, user=uploader, role=Role.UPLOADER)
    client = client_of(uploader)
    page = client.get(f"/fields/{segmented.pk}/").content.decode()
    assert 'id="reject-form"' not in page and 'id="add-mode"' not in page
    cell = CellProvenance.objects.filter(field=segmented).first().cell
    assert post(client, f"/fields/cells/{cell.pk}/reject/", {}).status_code == 403


def test_outsiders_get_404_for_fields(segmented, bob):
    client = client_of(bob)
    assert client.get(f"/fields/{segmented.pk}/").status_code == 404
    assert client.get(f"/fields/{segmented.pk}/image/").status_code == 404
    assert client.get(f"/fields/{segmented.pk}/cells/").status_code == 404


def test_exports_carry_the_provenance_to_rebuild_the_crops(segmented, alice):
    rows = {c.cell_id: c for c in export_cells(project=segmented.case.project)}
    from_field = [c for c in rows.values() if c.provenance is not None]
    assert len(from_field) == 3 and len(rows) == 4
    p = from_field[0].provenance
    assert p["field_id"] == segmented.pk and p["field_sha256"] == segmented.sha256
    assert len(p["box"]) == 4 and p["mask_rle"]["counts"]
    csv = b"".join(
        client_of(alice).get(f"/exports/{segmented.case.project_id}/cells.csv").streaming_content
    ).decode()
    header = csv.splitlines()[0]
    assert header.endswith(
        "field_id,field_name,field_sha256,box,mask_rle,detection_score,edge_cell,cell_origin,detection_rejected"
    )


# Taking a rejection back (restore).


def current_label(cell) -> str | None:
    from allreview.review.selectors.labels import cells_current_labels

    return cells_current_labels(cell_ids=[cell.pk]).get(cell.pk) or None


def test_restoring_a_rejection_clears_the_artifact_label_and_keeps_who_rejected_it(
    segmented, alice
):
    from allreview.fields.models import DetectionReview
    from allreview.fields.services import detection_reject, detection_restore

    cell = CellProvenance.objects.filter(field=segmented).first().cell
    detection_reject(cell=cell, user=alice, reason="red cell")
    provenance = detection_restore(cell=cell, user=alice)
    assert provenance.rejected_at is None and provenance.rejected_by is None
    assert current_label(cell) is None  # unreviewed again, as before the rejection
    history = list(DetectionReview.objects.filter(provenance=provenance))
    assert [(r.kind, r.user, r.reason) for r in history] == [
        ("reject", alice, "red cell"),
        ("restore", alice, ""),
    ]
    event = AuditEvent.objects.get(action="field.detection_restore")
    assert event.before == {"rejected": {"by": alice.pk, "reason": "red cell"}}
    assert event.after == {"field": segmented.pk, "label": None}


def test_restoring_puts_back_the_label_the_cell_had_before_the_rejection(segmented, alice, lab_a):
    from allreview.fields.services import detection_reject, detection_restore
    from allreview.review.services.labels import label_set

    carol = UserFactory(username="carol")
    MembershipFactory(project=lab_a, user=carol, role=Role.REVIEWER)
    cell = CellProvenance.objects.filter(field=segmented).first().cell
    label_set(cell=cell, user=alice, value="hem")
    detection_reject(cell=cell, user=alice)
    assert current_label(cell) == "artifact"
    detection_restore(cell=cell, user=carol)  # another reviewer takes it back
    assert current_label(cell) == "hem"
    assert Label.objects.filter(cell=cell).count() == 3  # the history stays


def test_a_cell_relabelled_since_its_rejection_keeps_that_label_when_restored(segmented, alice):
    from allreview.fields.services import detection_reject, detection_restore
    from allreview.review.services.labels import label_set

    cell = CellProvenance.objects.filter(field=segmented).first().cell
    detection_reject(cell=cell, user=alice)
    label_set(cell=cell, user=alice, value="all")
    detection_restore(cell=cell, user=alice)
    assert current_label(cell) == "all" and Label.objects.filter(cell=cell).count() == 2
    assert AuditEvent.objects.get(action="field.detection_restore").after["label_kept"] is True


def test_a_detection_is_restored_once_and_can_be_rejected_again(segmented, alice):
    from django.core.exceptions import ValidationError

    from allreview.fields.services import detection_reject, detection_restore

    cell = CellProvenance.objects.filter(field=segmented).first().cell
    with pytest.raises(ValidationError, match="not rejected"):
        detection_restore(cell=cell, user=alice)  # never rejected
    detection_reject(cell=cell, user=alice, reason="debris")
    detection_restore(cell=cell, user=alice)
    with pytest.raises(ValidationError, match="not rejected"):
        detection_restore(cell=cell, user=alice)
    detection_reject(cell=cell, user=alice, reason="debris after all")
    assert CellProvenance.objects.get(cell=cell).reject_reason == "debris after all"
    assert current_label(cell) == "artifact"


def test_restore_is_refused_on_a_signed_off_case(segmented, alice):
    from allreview.fields.services import detection_reject, detection_restore
    from allreview.review.errors import CaseLocked

    cell = CellProvenance.objects.filter(field=segmented).first().cell
    detection_reject(cell=cell, user=alice)
    Case.objects.filter(pk=segmented.case_id).update(status=CaseStatus.SIGNED_OFF)
    with pytest.raises(CaseLocked):
        detection_restore(cell=cell, user=alice)
    assert CellProvenance.objects.get(cell=cell).rejected_at is not None
    assert current_label(cell) == "artifact"
    response = post(client_of(alice), f"/fields/cells/{cell.pk}/restore/", {})
    assert response.status_code == 409
    assert not AuditEvent.objects.filter(action="field.detection_restore").exists()


def test_restore_is_refused_for_a_role_that_may_not_label(segmented, alice, lab_a):
    from django.core.exceptions import PermissionDenied

    from allreview.fields.services import detection_reject, detection_restore

    uploader = UserFactory(username="ulla")
    MembershipFactory(project=lab_a, user=uploader, role=Role.UPLOADER)
    cell = CellProvenance.objects.filter(field=segmented).first().cell
    detection_reject(cell=cell, user=alice)
    with pytest.raises(PermissionDenied):
        detection_restore(cell=cell, user=uploader)
    assert post(client_of(uploader), f"/fields/cells/{cell.pk}/restore/", {}).status_code == 403
    assert CellProvenance.objects.get(cell=cell).rejected_at is not None


def test_outsiders_get_404_when_restoring(segmented, alice, bob):
    from allreview.fields.services import detection_reject

    cell = CellProvenance.objects.filter(field=segmented).first().cell
    detection_reject(cell=cell, user=alice)
    assert post(client_of(bob), f"/fields/cells/{cell.pk}/restore/", {}).status_code == 404
    assert CellProvenance.objects.get(cell=cell).rejected_at is not None


def test_the_field_page_restores_a_rejected_detection(segmented, alice):
    client = client_of(alice)
    cell = CellProvenance.objects.filter(field=segmented).first().cell
    page = client.get(f"/fields/{segmented.pk}/").content.decode()
    assert 'id="restore-button"' in page
    post(client, f"/fields/cells/{cell.pk}/reject/", {"reason": "debris"})
    response = post(client, f"/fields/cells/{cell.pk}/restore/", {})
    assert response.status_code == 200
    row = next(c for c in response.json()["cells"] if c["id"] == cell.pk)
    assert not row["rejected"] and row["label"] is None
    again = post(client, f"/fields/cells/{cell.pk}/restore/", {})
    assert again.status_code == 400 and "not rejected" in again.json()["detail"]
