"""API paging: page numbers for every list (`?page=`, `?page_size=` up to 1,000), and a cursor
walk for a case's cells (`?cursor=`), so a client lists a 500-cell case in one call."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

# A request may ask for more than this, and gets this many: one call lists a 500-cell case
# (the largest the labs upload) while a response stays a few hundred kilobytes.
MAX_PAGE_SIZE = 1000


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers (`count`, `next`, `previous`, `results`), with `?page_size=`
    clamped to MAX_PAGE_SIZE; a page size that is not a positive number gets the default."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class CellCursorPagination(pagination.CursorPagination):
    """Cursor pages over a case's cells in id order (unique and never reused, so a walk sees
    every cell once even while labels are written; no COUNT per page). `next` carries the
    cursor; `?page_size=` as for page numbers."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        cursor = super().decode_cursor(request)
        # The position is a cell id: anything else is a forged cursor, refused as DRF refuses
        # one it cannot decode (404) rather than reaching the database as a bad id (500).
        if (
            cursor is not None
            and cursor.position is not None
            and not str(cursor.position).isdigit()
        ):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def cell_paginator(request: Request, default: Any) -> Any:
    """The cursor paginator when the request asks for it (`?cursor=`, empty to start a walk),
    else `default` (page numbers), so clients written for page numbers keep working."""
    if CellCursorPagination.cursor_query_param in request.query_params:
        return CellCursorPagination()
    return default
