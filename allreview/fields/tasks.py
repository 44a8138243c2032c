"""Celery tasks: primary keys in, one service call, nothing else. acks_late and the time limits
are settings."""

from __future__ import annotations

from celery import shared_task


@shared_task
def case_segment(case_id: int) -> None:
    from allreview.fields import segmentation

    segmentation.case_fields_segment(case_id=case_id)


@shared_task
def cell_classify(cell_id: int) -> None:
    from allreview.fields import segmentation

    segmentation.cell_classify(cell_id=cell_id)
