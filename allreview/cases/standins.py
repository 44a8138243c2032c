"""Cells that are shown among a case's cells without being part of it (reader QC's known-answer
cells). This app only announces the two moments that matter; `allreview.quality` registers what
happens then (apps import downhill: cases never imports quality).

- at upload, a provider may add stand-in cells (unsaved, `is_reference=True`); they are placed at
  random positions among the case's own cells before the one bulk insert, so their ids fall
  among the case's ids and nothing about an id, a URL or the upload order tells them apart;
- at sign-off, a recorder keeps what each reader called them (their labels are never part of
  the case's record).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allreview.cases.models import Case, Cell


@dataclass
class StandIn:
    cell: Cell  # unsaved; a row of the case flagged is_reference
    on_saved: Callable[[Cell], None]  # called once the row has its id, in the same transaction


StandInProvider = Callable[["Case", frozenset[str], int], list[StandIn]]
SignedRecorder = Callable[["Case", int], None]

_providers: list[StandInProvider] = []
_recorders: list[SignedRecorder] = []
_shuffle = random.SystemRandom()


def provider_register(provider: StandInProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def recorder_register(recorder: SignedRecorder) -> None:
    if recorder not in _recorders:
        _recorders.append(recorder)


def stand_ins_pick(*, case: Case, hashes: frozenset[str], n_own: int) -> list[StandIn]:
    """The stand-in cells registered providers want in a new case (none by default)."""
    return [s for provider in _providers for s in provider(case, hashes, n_own)]


def interleave(own: list[Cell], extra: list[Cell]) -> list[Cell]:
    """The case's cells with the extra ones at uniformly random positions (own order kept)."""
    if not extra:
        return own
    total = len(own) + len(extra)
    chosen = set(_shuffle.sample(range(total), len(extra)))
    own_iter, extra_iter = iter(own), iter(extra)
    return [next(extra_iter) if i in chosen else next(own_iter) for i in range(total)]


def case_signed_announce(*, case: Case, sign_off_id: int) -> None:
    """Called by the sign-off, inside its transaction."""
    for recorder in _recorders:
        recorder(case, sign_off_id)
