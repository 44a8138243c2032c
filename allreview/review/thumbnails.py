"""Thumbnails at their content addresses: one cell's thumbnail, or every thumbnail of a case in
one pack, so the gallery paints from one request. The pages are in `review/views/thumbnails.py`."""

from __future__ import annotations

import hashlib

from allreview.cases.models import Case
from allreview.lib.thumbpack import PACK_SUFFIX

# A year: as long as HTTP caches keep anything; what an addressed URL names never changes.
ADDRESSED = f"private, max-age={365 * 24 * 3600}, immutable"


def cell_address(cell_id: int, sha256: str) -> str:
    """A cell's content address: its image's sha256 bound to the row. Never the bare image hash:
    a reader QC known-answer cell shares its image (and hash) with another patient's cell, and
    equal addresses or ETags would link the two."""
    return hashlib.blake2b(f"{sha256}:{cell_id}".encode(), digest_size=32).hexdigest()


def thumbnail_url(cell_id: int, sha256: str) -> str:
    """A thumbnail's address: the cell and its image's content, from which the thumbnail is cut
    once, at upload, and never again. Other content, another URL."""
    return f"/cells/{cell_id}/thumbnail/{cell_address(cell_id, sha256)}.jpg"


def thumbnail_pack_url(case: Case) -> str:
    """The address of the case's thumbnail pack (the sha256 of its bytes); "" without one."""
    name = case.thumbnail_pack.name or ""
    if not name.endswith(PACK_SUFFIX):
        return ""
    sha256 = name.rsplit("-", 1)[-1].removesuffix(PACK_SUFFIX)
    return f"/cases/{case.pk}/thumbnails/{sha256}{PACK_SUFFIX}"
