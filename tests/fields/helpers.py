"""Small smear fields for platform tests. `drawn_field` needs no data: a smear-like background
with red cells and dark violet white cells drawn as discs at known places. Tests that need
realistic fields use `smear.generate` on the real C-NMC cells (and skip without them)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

# Three white cells (centre x, centre y, radius) in a 1,000 x 750 field.
WHITE_CELLS = ((220, 200, 50), (640, 420, 55), (820, 160, 48))
BACKGROUND = (236, 224, 226)
RED_CELL = (214, 148, 158)
WHITE_CELL = (70, 30, 85)


def drawn_field(
    cells: tuple[tuple[int, int, int], ...] = WHITE_CELLS,
    *,
    size: tuple[int, int] = (1000, 750),
    fmt: str = "JPEG",
    seed: int = 0,
) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    for _ in range(40):  # red cells: they take eosin, not haematoxylin
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        draw.ellipse((x - 40, y - 40, x + 40, y + 40), fill=RED_CELL)
    for x, y, r in cells:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=WHITE_CELL)
    noisy = np.asarray(image, dtype=np.int16) + rng.integers(-3, 4, (size[1], size[0], 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, fmt, quality=92)
    return out.getvalue()
