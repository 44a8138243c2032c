"""JSON the databases accept: PostgreSQL's jsonb and SQLite's JSON_VALID refuse NaN and Infinity,
which metrics produce (ROC AUC of a single class, F1 of an empty validation set)."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
