"""The guard on patient codes: the platform stores pseudonymous codes only, never a name or a
date of birth. A code must match PATIENT_CODE_PATTERN (a lab may tighten it to its own scheme)
and must not look like a name or a date, whatever the pattern allows."""

from __future__ import annotations

import re
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError

# Two capitalised words side by side: "John_Smith", "Maria Garcia", "Maria.Garcia-1975".
_NAME = re.compile(r"(?<![A-Za-z])[A-Z][a-z]+[\s._-]+[A-Z][a-z]+(?![a-z])")
# Dates with separators, year first or last: 1975-03-12, 12.03.1975, 3/12/75 is too vague to say.
_DATE_YMD = re.compile(r"(?<!\d)(\d{4})[-./_](\d{1,2})[-./_](\d{1,2})(?!\d)")
_DATE_DMY = re.compile(r"(?<!\d)(\d{1,2})[-./_](\d{1,2})[-./_](\d{4})(?!\d)")
# Compact dates of the last and this century: 19750312, 12031975.
_DATE_COMPACT = re.compile(r"(?<!\d)(\d{8})(?!\d)")

PATTERN_MESSAGE = (
    "Use the project's pseudonymous code format (e.g. P-0042: letters, digits, '.', '_' or '-'), "
    "never a name."
)


def _is_date(year: int, month: int, day: int) -> bool:
    if not 1900 <= year <= 2099:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _has_date(code: str) -> bool:
    for m in _DATE_YMD.finditer(code):
        if _is_date(int(m[1]), int(m[2]), int(m[3])):
            return True
    for m in _DATE_DMY.finditer(code):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        if _is_date(year, month, day) or _is_date(year, day, month):  # d.m.y or m/d/y
            return True
    for m in _DATE_COMPACT.finditer(code):
        digits = m[1]
        ymd = (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        dmy = (int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        if _is_date(*ymd) or _is_date(*dmy):
            return True
    return False


def patient_code_problem(code: str) -> str | None:
    """Why `code` is not an acceptable pseudonymous patient code, or None."""
    if _NAME.search(code):
        return (
            "This looks like a person's name. Use a pseudonymous code (e.g. P-0042), never a name."
        )
    if _has_date(code):
        return (
            "This contains a date, which may be a date of birth. "
            "Use a pseudonymous code (e.g. P-0042) without dates."
        )
    if not re.fullmatch(settings.PATIENT_CODE_PATTERN, code):
        return PATTERN_MESSAGE
    return None


def validate_patient_code(code: str) -> None:
    problem = patient_code_problem(code)
    if problem:
        raise ValidationError(problem, code="patient_code")
