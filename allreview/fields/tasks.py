"""Celery tasks: primary keys in, one service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from allreview.fields import segmentation


@shared_task(acks_late=True)
def case_segment(case_id: int) -> None:
    segmentation.case_fields_segment(case_id=case_id)


@shared_task(acks_late=True)
def cell_classify(cell_id: int) -> None:
    segmentation.cell_classify(cell_id=cell_id)
