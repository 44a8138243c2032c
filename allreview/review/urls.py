from __future__ import annotations

from django.urls import path, register_converter

from allreview.review.views import adjudication, case_page, cells, signoff, thumbnails, worklist


class Sha256Converter:
    """A lowercase hex sha256: the content part of an addressed URL."""

    regex = "[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(Sha256Converter, "sha256")

app_name = "review"

urlpatterns = [
    path("", worklist.case_list, name="case_list"),
    path("cases/<int:case_id>/", case_page.case_detail, name="case_detail"),
    path(
        "cases/<int:case_id>/thumbnails/<sha256:sha256>.pack",
        thumbnails.case_thumbnail_pack,
        name="case_thumbnail_pack",
    ),
    path("cases/<int:case_id>/assign/", worklist.case_assign, name="case_assign"),
    path("cases/<int:case_id>/readers/", worklist.case_readers, name="case_readers"),
    path(
        "cases/<int:case_id>/readers/<int:user_id>/remove/",
        worklist.case_reader_remove,
        name="case_reader_remove",
    ),
    path(
        "projects/<int:project_id>/adjudication/",
        adjudication.adjudication_queue,
        name="adjudication_queue",
    ),
    path(
        "projects/<int:project_id>/blinding/",
        adjudication.project_blinding,
        name="project_blinding",
    ),
    path("cells/<int:cell_id>/adjudicate/", adjudication.cell_adjudicate, name="cell_adjudicate"),
    path("cases/<int:case_id>/labels/", cells.case_labels, name="case_labels"),
    path("cases/<int:case_id>/labels/undo/", cells.case_labels_undo, name="case_labels_undo"),
    path("cases/<int:case_id>/sign-off/", signoff.case_sign_off, name="case_sign_off"),
    path("cases/<int:case_id>/reopen/", signoff.case_reopen, name="case_reopen"),
    path("cells/<int:cell_id>/label/", cells.cell_label, name="cell_label"),
    path("cells/<int:cell_id>/panel/", cells.cell_panel, name="cell_panel"),
    path("cells/<int:cell_id>/saliency/", cells.cell_saliency, name="cell_saliency"),
    path("cells/<int:cell_id>/saliency.png", cells.cell_saliency_image, name="cell_saliency_image"),
    path("cells/<int:cell_id>/image/", cells.cell_image, name="cell_image"),
    path("cells/<int:cell_id>/thumbnail/", cells.cell_thumbnail, name="cell_thumbnail"),
    path(
        "cells/<int:cell_id>/thumbnail/<sha256:sha256>.jpg",
        thumbnails.cell_thumbnail_addressed,
        name="cell_thumbnail_addressed",
    ),
]
