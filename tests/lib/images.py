"""Builders of good and bad uploads (images and zips), all made in memory and deterministic."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable

from PIL import Image


def cell_image(size: tuple[int, int] = (450, 450), mode: str = "RGB") -> Image.Image:
    """A C-NMC-like picture: a textured blob on black (seeded, so every run is the same)."""
    width, height = size
    blob = Image.radial_gradient("L").resize((width, height))
    noise = Image.frombytes("L", size, random.Random(width * height).randbytes(width * height))
    gray = Image.composite(noise, Image.new("L", size), blob.point(lambda v: 255 - v))
    rgb = Image.merge("RGB", (gray, gray.point(lambda v: v // 2), gray.point(lambda v: v // 3)))
    return rgb if mode == "RGB" else rgb.convert(mode)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height 1-bit pixels, with one tiny IDAT: a header bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def zip_bytes(entries: list[tuple[str | zipfile.ZipInfo, bytes]], *, deflate: bool = True) -> bytes:
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def patch_central_directory(data: bytes, patch: Callable[[bytearray, int], None]) -> bytes:
    """Apply `patch(buffer, offset)` to every central-directory record (signature PK\\1\\2)."""
    buf = bytearray(data)
    offset = buf.find(b"PK\x01\x02")
    while offset != -1:
        patch(buf, offset)
        offset = buf.find(b"PK\x01\x02", offset + 4)
    return bytes(buf)


def set_encrypted_flag(buf: bytearray, offset: int) -> None:
    buf[offset + 8] |= 0x1  # general purpose flag, bit 0: encrypted


def set_uncompressed_size(size: int) -> Callable[[bytearray, int], None]:
    def patch(buf: bytearray, offset: int) -> None:
        buf[offset + 24 : offset + 28] = struct.pack("<I", size)

    return patch
