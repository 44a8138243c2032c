"""The registry announces a new production model; cases, which it never imports, answers by
classifying the cases that waited for one."""

from __future__ import annotations

from allreview.mlmodels.services import model_version_promote
from allreview.mlmodels.signals import production_model_changed
from tests.factories import ModelVersionFactory


def test_promotion_announces_the_change_once_committed(
    lab_a, monkeypatch, django_capture_on_commit_callbacks
):
    heard: list[dict[str, object]] = []

    def listener(**kwargs: object) -> None:
        heard.append(kwargs)

    production_model_changed.connect(listener)
    sweeps: list[bool] = []
    monkeypatch.setattr(
        "allreview.cases.tasks.cases_classify_waiting.delay", lambda: sweeps.append(True)
    )
    version = ModelVersionFactory(project=lab_a)
    try:
        with django_capture_on_commit_callbacks(execute=False) as pending:
            model_version_promote(version=version, project=lab_a, reason="test")
        assert heard == [] and sweeps == []  # nothing before the commit
        for callback in pending:
            callback()
    finally:
        production_model_changed.disconnect(listener)
    assert [(h["version"], h["project_id"]) for h in heard] == [(version, lab_a.pk)]
    assert sweeps == [True]  # cases sent its sweep of the waiting cases
