"""Fixtures of the lib tests: encoded cells in every format (builders in tests/lib/images.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from tests.lib.images import cell_image, encode
from tests.paths import CNMC_DIR


@pytest.fixture(scope="session")
def cell() -> Image.Image:
    return cell_image()


@pytest.fixture(scope="session")
def png_bytes(cell: Image.Image) -> bytes:
    return encode(cell, "PNG")


@pytest.fixture(scope="session")
def bmp_bytes(cell: Image.Image) -> bytes:
    return encode(cell, "BMP")


@pytest.fixture(scope="session")
def jpeg_bytes(cell: Image.Image) -> bytes:
    return encode(cell, "JPEG", quality=90)


@pytest.fixture(scope="session")
def tiff_bytes(cell: Image.Image) -> bytes:
    return encode(cell, "TIFF")


@pytest.fixture(scope="session")
def random_bytes() -> bytes:
    return random.Random(2019).randbytes(20_000)


@pytest.fixture(scope="session")
def gif_bytes(cell: Image.Image) -> bytes:
    return encode(cell, "GIF")


@pytest.fixture(scope="session")
def multipage_tiff(cell: Image.Image) -> bytes:
    return encode(cell, "TIFF", save_all=True, append_images=[cell.rotate(90), cell.rotate(180)])


@pytest.fixture(scope="session")
def animated_png(cell: Image.Image) -> bytes:
    return encode(cell, "PNG", save_all=True, append_images=[cell.rotate(90)])


@pytest.fixture(scope="session")
def cnmc_dir() -> Path:
    if not (CNMC_DIR / "labels.csv").is_file():
        pytest.skip(f"C-NMC data not found at {CNMC_DIR} (set CNMC_DIR)")
    return CNMC_DIR
