from __future__ import annotations

from django.apps import AppConfig


class FieldsConfig(AppConfig):
    name = "allreview.fields"
    label = "fields"
    verbose_name = "Whole smear fields"

    def ready(self) -> None:
        from allreview.cases import hooks
        from allreview.fields import intake, segmentation, selectors
        from allreview.review import hooks as review_hooks

        hooks.field_intake_register(intake.fields_store)
        hooks.before_classify_register(segmentation.case_segment_send)
        review_hooks.case_page_register(selectors.case_page_fields)
        review_hooks.cell_panel_register(selectors.cell_panel_field)
