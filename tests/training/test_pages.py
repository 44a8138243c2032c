"""Registry, comparison, runs and drift pages: what members see and what only admins may do."""

from __future__ import annotations

import pytest
from django.test import Client

from allreview.audit.models import AuditEvent
from allreview.projects.models import Role
from allreview.training.models import ModelScore, RunStatus, TrainingRun
from tests.factories import MembershipFactory, ModelVersionFactory, UserFactory


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_of_lab_a(lab_a):
    user = UserFactory(username="ada")
    MembershipFactory(project=lab_a, user=user, role=Role.ADMIN)
    return user


def test_a_full_run_shows_on_every_page(
    reviewed_project,
    weak_production,
    run_inline,
    admin_of_lab_a,
    django_capture_on_commit_callbacks,
):
    client = client_for(admin_of_lab_a)
    base = f"/projects/{reviewed_project.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{base}/training/request/")
    assert response.status_code == 302
    run = TrainingRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.requested_by == admin_of_lab_a
    page = client.get(f"{base}/training/").content.decode()
    assert f"Run #{run.pk}" in page and "promoted" in page
    assert client.get(f"{base}/training/runs/{run.pk}/").json()["status"] == "succeeded"
    svg = "image/svg+xml; charset=utf-8"  # charts are SVG drawn without matplotlib
    assert client.get(f"{base}/training/runs/{run.pk}/curves.svg")["Content-Type"] == svg
    assert client.get(f"{base}/training/runs/{run.pk}/curves.png")["Content-Type"] == svg
    registry = client.get(f"{base}/models/").content.decode()
    assert run.candidate.name in registry and weak_production.name in registry
    for chart in ("curves", "confusion", "reliability"):
        response = client.get(f"{base}/models/{run.candidate.pk}/{chart}.svg")
        assert response.status_code == 200 and response.content.startswith(b"<svg ")
    detail = client.get(f"{base}/models/{run.candidate.pk}/").content.decode()
    assert "Weighted F1" in detail and "random" in detail
    # patient-level figures and the trivial baselines, from the frozen set's score
    assert "Healthy-patient accuracy" in detail and "Patients flagged" in detail
    assert "Trivial baselines" in detail
    score = run.candidate.scores.filter(project=reviewed_project).first()
    assert "patient_macro_accuracy_hem" in score.metrics
    assert "baseline_all_blast_weighted_f1" in score.metrics
    assert "Trained on ? cells" not in detail and "confusion" in detail
    compare = client.get(f"{base}/models/compare/?a={weak_production.pk}&b={run.candidate.pk}")
    assert "changed call" in compare.content.decode()
    drift = client.get(f"{base}/drift/")
    assert drift.status_code == 200
    assert client.get(f"{base}/drift/?format=svg")["Content-Type"] == svg
    assert client.get(f"{base}/drift/?format=png")["Content-Type"] == svg


def test_admin_rolls_back_with_a_reason_and_it_is_audited_with_the_project(lab_a, admin_of_lab_a):
    from allreview.mlmodels.selectors import model_version_production
    from allreview.mlmodels.services import model_version_promote

    old, new = (
        ModelVersionFactory(name="old", project=lab_a),
        ModelVersionFactory(name="new", project=lab_a),
    )
    model_version_promote(version=old, project=lab_a)
    model_version_promote(version=new, project=lab_a)
    client = client_for(admin_of_lab_a)
    url = f"/projects/{lab_a.pk}/models/{old.pk}/promote/"
    client.post(url, {"reason": ""})
    assert model_version_production(project=lab_a) == new  # no reason, no rollback
    client.post(url, {"reason": "new version misses blasts on site B"})
    assert model_version_production(project=lab_a) == old
    event = AuditEvent.objects.filter(action="model.promote").first()
    assert event.actor == admin_of_lab_a and event.project == lab_a
    assert event.after["reason"] == "new version misses blasts on site B"
    assert event.after["kind"] == "rollback"
    audit_page = client.get(f"/audit/projects/{lab_a.pk}/").content.decode()
    assert "model.promote" in audit_page
    detail = client.get(f"/projects/{lab_a.pk}/models/{old.pk}/").content.decode()
    assert "Promotion history" in detail and "new version misses blasts on site B" in detail
    assert "Rollback" in detail


def test_reviewer_may_look_but_not_retrain_or_promote(lab_a):
    reviewer = UserFactory(username="rita")
    MembershipFactory(project=lab_a, user=reviewer, role=Role.REVIEWER)
    version = ModelVersionFactory()
    client = client_for(reviewer)
    assert client.get(f"/projects/{lab_a.pk}/models/").status_code == 200
    assert client.post(f"/projects/{lab_a.pk}/training/request/").status_code == 403
    response = client.post(f"/projects/{lab_a.pk}/models/{version.pk}/promote/", {"reason": "x"})
    assert response.status_code == 403
    assert TrainingRun.objects.count() == 0


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_outsiders_get_404_on_training_pages(request, who, lab_a):
    client = client_for(request.getfixturevalue(who))
    for path in ("models/", "training/", "drift/", "models/compare/"):
        assert client.get(f"/projects/{lab_a.pk}/{path}").status_code == 404, path


def test_registry_lists_scores_without_a_query_per_version(
    lab_a, alice, django_assert_max_num_queries
):
    for i in range(5):
        version = ModelVersionFactory(name=f"v{i}")
        ModelScore.objects.create(
            model_version=version,
            project=lab_a,
            eval_hash="h",
            n_cells=10,
            n_patients=2,
            metrics={"weighted_f1": 0.5 + i / 10, "sensitivity": 0.9, "specificity": 0.8},
        )
    client = client_for(alice)
    # constant, whatever the number of versions: the page, the scores, the project's standing
    # of each version (its deployment history, the default) and the history table
    with django_assert_max_num_queries(10):
        body = client.get(f"/projects/{lab_a.pk}/models/").content.decode()
    assert "0.900" in body  # v4's F1


def test_drift_warns_when_the_newest_week_leaves_the_band(db):
    from datetime import datetime

    from allreview.training.selectors import drift_warnings

    rows = [
        {
            "model_version__name": "m",
            "week": datetime(2026, 11, w),
            "override_rate": r,
            "blast_rate": 0.4,
            "mean_uncertainty": 0.1,
        }
        for w, r in ((2, 0.05), (9, 0.06), (16, 0.30))
    ]
    warnings = drift_warnings(
        rows, {"override_rate": 0.1, "blast_rate": 0.15, "mean_uncertainty": 0.05}
    )
    assert len(warnings) == 1 and "override rate 0.300" in warnings[0]
