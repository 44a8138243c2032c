"""Reading fields and writing ground truth: plain files, so the CLI and the benchmark agree."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from smear.generate import GeneratedField
from smear.masks import rle_encode


def decode_rgb(data: bytes) -> np.ndarray:
    """An image file's pixels as 8-bit RGB."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


def truth_json(generated: GeneratedField, *, image: str, root: Path) -> dict[str, Any]:
    """The field's ground truth: per cell its source, label, box, RLE mask and edge flag."""
    return {
        "image": image,
        "width": int(generated.image.shape[1]),
        "height": int(generated.image.shape[0]),
        "cells": [
            {
                "source": str(cell.source.path.relative_to(root)),
                "label": cell.source.label,
                "patient": cell.source.patient,
                "box": cell.box.as_list(),
                "mask": rle_encode(cell.mask),
                "edge": cell.edge,
                "scale": round(cell.scale, 4),
                "angle": round(cell.angle, 2),
            }
            for cell in generated.cells
        ],
    }


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1))
