from __future__ import annotations

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "allreview.cases"
    label = "cases"

    def ready(self) -> None:
        from allreview.cases.services import cases_classify_waiting_enqueue
        from allreview.mlmodels.signals import production_model_changed

        # A new production model: the cases that waited for one are classified at once (the
        # beat sweep would find them within a minute anyway).
        production_model_changed.connect(
            cases_classify_waiting_enqueue, dispatch_uid="cases_classify_waiting"
        )
