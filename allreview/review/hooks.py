"""What higher apps add to the review pages (issue 14: whole smear fields list a case's fields on
its page and link a cell back to its field). Apps import downhill only: review calls what was
registered here and never imports the app that registered it (see `cases.hooks` for intake)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allreview.cases.models import Case, Cell

# Extra context for the case page (one query at most each: the page's count is pinned).
CasePageExtra = Callable[["Case"], dict[str, object]]
# Extra facts for the cell panel's JSON (one query at most each).
CellPanelExtra = Callable[["Cell"], dict[str, object]]

_case_page: list[CasePageExtra] = []
_cell_panel: list[CellPanelExtra] = []


def case_page_register(extra: CasePageExtra) -> None:
    if extra not in _case_page:
        _case_page.append(extra)


def cell_panel_register(extra: CellPanelExtra) -> None:
    if extra not in _cell_panel:
        _cell_panel.append(extra)


def case_page_extras(case: Case) -> dict[str, object]:
    return {key: value for extra in _case_page for key, value in extra(case).items()}


def cell_panel_extras(cell: Cell) -> dict[str, object]:
    return {key: value for extra in _cell_panel for key, value in extra(cell).items()}
