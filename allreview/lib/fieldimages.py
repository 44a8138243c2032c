"""Field or single cell? Decided by content, from what intake already has (size and thumbnail).

A C-NMC-style cell is one cell centred on black: a large share of its pixels are black. A smear
field from a microscope camera is large (1,000 px and more) and bright nearly everywhere. Pure
Pillow: intake runs in the web process.
"""

from __future__ import annotations

import io

from PIL import Image

DARK_LEVEL = 60  # R+G+B at or below which a thumbnail pixel counts as black background
CELL_DARK_SHARE = 0.25  # a single-cell frame has at least this much black


def looks_like_field(*, width: int, height: int, thumbnail: bytes, min_side: int) -> bool:
    """True for a whole field: its longer side at least `min_side` and hardly any black
    background (a large single-cell frame is still a cell)."""
    if max(width, height) < min_side:
        return False
    with Image.open(io.BytesIO(thumbnail)) as thumb:
        data = thumb.convert("RGB").tobytes()
    pixels = len(data) // 3
    dark = sum(
        1 for i in range(0, len(data), 3) if data[i] + data[i + 1] + data[i + 2] <= DARK_LEVEL
    )
    return dark < CELL_DARK_SHARE * pixels
