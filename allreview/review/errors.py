"""What review writes refuse with besides 403 and 400: the case or the cell has moved on (409)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from allreview.lib.conflict import Conflict


class CaseLocked(ValidationError, Conflict):
    """The case is signed off: nothing about its reads changes until a lead reopens it (409)."""

    def __init__(self) -> None:
        super().__init__("the case is signed off and locked; a lead can reopen it")


class StaleLabels(Conflict):
    """The write was decided on a view of the cells that is no longer current: a label or the
    model's call changed since the page showed them (HTTP 409). `fresh` is the state now, as
    the user may see it, so the page can show it."""

    def __init__(self, fresh: dict[str, Any], detail: str) -> None:
        super().__init__(detail)
        self.fresh = fresh

    @property
    def extra(self) -> Mapping[str, object]:
        return {"fresh": self.fresh}


class StaleView(Conflict):
    """The adjudicator decided on a view of the cell that is no longer current (HTTP 409)."""

    def __init__(self, newest: int | None) -> None:
        super().__init__(
            "the cell was labelled since you loaded it; reload and decide on what is there now"
        )
        self.newest = newest

    @property
    def extra(self) -> Mapping[str, object]:
        return {"newest": self.newest}
