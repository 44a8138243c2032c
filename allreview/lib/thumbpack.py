"""A case's thumbnails packed into one file, so the gallery paints from one request.

Pure helper: no Django. Layout: one line of JSON, `{"cells": [[cell id, bytes], ...]}`, then
the JPEGs one after another in that order. The pack is addressed by the sha256 of its bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

PACK_SUFFIX = ".pack"


@dataclass(frozen=True)
class ThumbnailPack:
    data: bytes
    sha256: str

    @property
    def file_name(self) -> str:
        return f"thumbnails-{self.sha256}{PACK_SUFFIX}"


def thumbnail_pack(thumbnails: Iterable[tuple[int, bytes]]) -> ThumbnailPack:
    """Pack (cell id, JPEG bytes) pairs, in cell id order."""
    items = sorted(thumbnails)
    index = json.dumps(
        {"cells": [[cell, len(jpeg)] for cell, jpeg in items]}, separators=(",", ":")
    )
    data = index.encode() + b"\n" + b"".join(jpeg for _, jpeg in items)
    return ThumbnailPack(data, hashlib.sha256(data).hexdigest())


def thumbnail_unpack(data: bytes) -> dict[int, bytes]:
    """The JPEG of each cell id (what the page's script does, for tests and tools)."""
    head, _, body = data.partition(b"\n")
    out: dict[int, bytes] = {}
    offset = 0
    for cell, size in json.loads(head)["cells"]:
        out[cell] = body[offset : offset + size]
        offset += size
    if offset != len(body):
        raise ValueError("the pack's index does not match its body")
    return out
