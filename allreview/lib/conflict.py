"""The refusal that is neither "not allowed" nor "invalid": the request was decided on a state
that has moved on (a case signed off since, a label written since). HTTP 409; nothing written."""

from __future__ import annotations

from collections.abc import Mapping


class Conflict(Exception):
    """`extra` is what the answer carries beside the reason (e.g. the state as it is now), so the
    client can show it and decide again."""

    @property
    def extra(self) -> Mapping[str, object]:
        return {}
