"""Steps that higher apps add to the case flow (issue 14: whole smear fields). Apps import
downhill only: cases calls what was registered here and never imports the app that registered
it. The fields app registers both in its AppConfig.ready."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allreview.cases.ingest import AcceptedImage
    from allreview.cases.models import Case
    from allreview.lib.cellstore import StoredFiles

# Stores the field images of an upload for `case` (inside the upload's transaction), every file
# through the upload's StoredFiles, so a failed upload removes them.
FieldIntake = Callable[["Case", "list[AcceptedImage]", "StoredFiles"], None]
# Called before a case is sent to classification: None when the step has nothing (left) to do,
# else whether its own task was sent (the case then waits for that step, which sends the case
# on to classification when it is done).
BeforeClassify = Callable[[int], "bool | None"]

_field_intake: list[FieldIntake] = []
_before_classify: list[BeforeClassify] = []


def field_intake_register(store: FieldIntake) -> None:
    if store not in _field_intake:
        _field_intake.append(store)


def field_intake() -> FieldIntake | None:
    return _field_intake[0] if _field_intake else None


def before_classify_register(step: BeforeClassify) -> None:
    if step not in _before_classify:
        _before_classify.append(step)


def before_classify(case_id: int) -> bool | None:
    """Run the registered steps in order; the first that has work decides."""
    for step in _before_classify:
        sent = step(case_id)
        if sent is not None:
            return sent
    return None
