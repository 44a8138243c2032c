"""Safe intake of uploaded cell images: recognise, fully decode, bound, hash, thumbnail.

Pure helper: no Django. The upload service hands over raw bytes and limits from settings,
and gets back a `CheckedImage` or an `ImageRejected` whose `.reason` is shown to the user.
Every file is decoded exactly once; the thumbnail is cut from that decoded image.
"""

from __future__ import annotations

import hashlib
import io
import os
import select
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageOps, UnidentifiedImageError

from classifier.crops import CropGeometry, centre_crop, crop_image, encode_crop

ALLOWED_FORMATS = frozenset({"BMP", "PNG", "JPEG", "TIFF"})
_ALLOWED_LIST = "BMP, PNG, JPEG, TIFF"
# Pillow plugins tried on open: only ours, so no other parser ever sees untrusted bytes.
_PILLOW_FORMATS = tuple(sorted(ALLOWED_FORMATS))
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_THUMB_QUALITY = 85
_BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)

# Formats we recognise by magic only to name them in the refusal; never handed to a decoder.
_FOREIGN_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"%PDF", "PDF"),
    (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"\xffO\xffQ", "JPEG 2000"),
    (4, b"jP  ", "JPEG 2000"),
    (0, b"\xff\x0a", "JPEG XL"),
    (4, b"JXL ", "JPEG XL"),
    (4, b"ftypheic", "HEIC"),
    (4, b"ftypheix", "HEIC"),
    (4, b"ftypmif1", "HEIF"),
    (4, b"ftypavif", "AVIF"),
    (128, b"DICM", "DICOM"),
    (0, b"PK\x03\x04", "ZIP"),
)


@dataclass(frozen=True)
class ImageLimits:
    min_side: int = 64
    max_side: int = 4096
    max_pixels: int = 4096 * 4096
    max_bytes: int = 20 * 2**20


class ImageRejected(ValueError):
    """An upload that is not an acceptable image; `reason` is meant for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int
    mode: str
    sha256: str
    size: int
    thumbnail: bytes  # JPEG, RGB, longest side == thumb_size
    model_input: bytes = b""  # PNG: the centre crop at the model's input size, when asked for
    model_input_geometry: str = ""  # its CropGeometry.key


@dataclass(frozen=True)
class NamedImage:
    name: str
    image: CheckedImage


@dataclass(frozen=True)
class Duplicate:
    name: str
    duplicate_of: str
    sha256: str


@dataclass(frozen=True)
class ImageBatch:
    """Outcome of checking a set of files (one case): good ones, refused ones, repeats."""

    accepted: tuple[NamedImage, ...]
    rejected: tuple[tuple[str, str], ...]  # (file name, reason)
    duplicates: tuple[Duplicate, ...]

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.duplicates


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff_foreign_format(data: bytes) -> str | None:
    """Name a well-known image or container format we do not accept, from its magic bytes."""
    for offset, magic, name in _FOREIGN_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    head = data[:256].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def check_image(
    data: bytes,
    *,
    limits: ImageLimits = ImageLimits(),
    thumb_size: int = 128,
    model_input: CropGeometry | None = None,
) -> CheckedImage:
    """Validate one uploaded file and make its thumbnail, or raise `ImageRejected`; with
    `model_input`, also the model's input crop of that geometry, from the same decode.

    Raises ValueError only for a bad `thumb_size`. Pillow's bomb warning is turned into an error
    with `warnings.catch_warnings`, which is process-global: fine in Celery's prefork workers and
    in tests; in a threaded server a concurrent call may briefly see the filter changed.
    """
    if thumb_size < 1:
        raise ValueError("thumb_size must be positive")
    _check_byte_size(data, limits)
    # Pillow warns (and later errors) on its global pixel limit; those become refusals too.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = _open(data)
        fmt, mode, (width, height) = img.format or "", img.mode, img.size
        _check_header(img, fmt, limits)
        _decode(img, fmt, data, thumb_size)
    crop = _model_input(img, fmt, data, model_input) if model_input else b""
    return CheckedImage(
        format=fmt,
        width=width,
        height=height,
        mode=mode,
        sha256=sha256_bytes(data),
        size=len(data),
        thumbnail=_thumbnail(img, fmt, thumb_size),
        model_input=crop,
        model_input_geometry=model_input.key if crop and model_input else "",
    )


def exit_with(owner_pid: int) -> None:
    """Initializer of a checking pool's worker: exit as soon as the process that owns the pool
    has gone. A server killed by SIGTERM runs no atexit hook, and a pool worker holds its own
    task pipe open, so it would otherwise wait for work forever (and keep its forkserver)."""

    def watch() -> None:
        try:
            handle = os.pidfd_open(owner_pid)
        except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): look once a second
            while _alive(owner_pid):
                time.sleep(1)
        else:
            select.select([handle], [], [])  # readable once the owner has exited
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-owner", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_image_source(
    source: str | bytes,
    *,
    limits: ImageLimits,
    thumb_size: int,
    model_input: CropGeometry | None = None,
) -> CheckedImage | str:
    """check_image on a file's path (or its bytes), for a pool of worker processes: the
    CheckedImage, or the reason it was refused as a plain string (which travels back more simply
    than an exception). An oversized file is refused by its size before it is read."""
    try:
        if isinstance(source, str):
            with open(source, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > limits.max_bytes:
                    return f"file of {size} bytes is over the limit of {limits.max_bytes}"
                source = handle.read()
        return check_image(source, limits=limits, thumb_size=thumb_size, model_input=model_input)
    except ImageRejected as exc:
        return exc.reason


def check_images(
    files: Iterable[tuple[str, bytes]],
    *,
    limits: ImageLimits = ImageLimits(),
    thumb_size: int = 128,
) -> ImageBatch:
    """Check every file of one case; collect refusals and same-sha256 repeats instead of raising."""
    accepted: list[NamedImage] = []
    rejected: list[tuple[str, str]] = []
    duplicates: list[Duplicate] = []
    first_by_hash: dict[str, str] = {}
    for name, data in files:
        try:
            checked = check_image(data, limits=limits, thumb_size=thumb_size)
        except ImageRejected as exc:
            rejected.append((name, exc.reason))
            continue
        first = first_by_hash.get(checked.sha256)
        if first is not None:
            duplicates.append(Duplicate(name=name, duplicate_of=first, sha256=checked.sha256))
            continue
        first_by_hash[checked.sha256] = name
        accepted.append(NamedImage(name=name, image=checked))
    return ImageBatch(tuple(accepted), tuple(rejected), tuple(duplicates))


def _check_byte_size(data: bytes, limits: ImageLimits) -> None:
    if not data:
        raise ImageRejected("empty file")
    if len(data) > limits.max_bytes:
        raise ImageRejected(f"file of {len(data)} bytes is over the limit of {limits.max_bytes}")


def _open(data: bytes) -> Image.Image:
    """Identify by content with our four plugins only; name other formats without decoding."""
    try:
        img = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
    except _BOMBS as exc:
        raise ImageRejected(f"decompression bomb: {exc}") from exc
    except Exception as exc:  # any parser failure on untrusted bytes is a refusal, not a crash
        foreign = sniff_foreign_format(data)
        if foreign:
            raise ImageRejected(f"format {foreign} not accepted ({_ALLOWED_LIST})") from exc
        if isinstance(exc, UnidentifiedImageError):
            raise ImageRejected("not an image") from exc
        raise ImageRejected(f"unreadable image header ({exc})") from exc
    if img.format not in ALLOWED_FORMATS:  # e.g. a multi-picture JPEG opens as MPO
        raise ImageRejected(f"format {img.format} not accepted ({_ALLOWED_LIST})")
    return img


def _check_header(img: Image.Image, fmt: str, limits: ImageLimits) -> None:
    """Refuse on the header's claims before a single pixel is decoded."""
    width, height = img.size
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"decompression bomb: header claims {width}x{height} = {width * height} pixels "
            f"(limit {limits.max_pixels})"
        )
    if max(width, height) > limits.max_side:
        raise ImageRejected(f"image {width}x{height} too large (max side {limits.max_side} px)")
    if min(width, height) < limits.min_side:
        raise ImageRejected(f"image {width}x{height} too small (min side {limits.min_side} px)")
    frames = _frame_count(img, fmt)
    if frames > 1:
        kind = "pages" if fmt == "TIFF" else "frames"
        raise ImageRejected(f"multi-frame {fmt} ({frames} {kind}) not accepted; one cell per file")


def _frame_count(img: Image.Image, fmt: str) -> int:
    try:
        return int(getattr(img, "n_frames", 1))
    except _BOMBS as exc:  # a later TIFF page may be the bomb
        raise ImageRejected(f"decompression bomb: {exc}") from exc
    except Exception as exc:  # walking a broken TIFF IFD chain fails here
        raise ImageRejected(f"truncated or corrupt {fmt} data ({exc})") from exc


def _decode(img: Image.Image, fmt: str, data: bytes, thumb_size: int) -> None:
    """Decode every pixel once; JPEG may decode at a reduced DCT scale, still reading all data."""
    try:
        if fmt == "JPEG":
            img.draft(None, (thumb_size * 2, thumb_size * 2))
        img.load()
    except _BOMBS as exc:
        raise ImageRejected(f"decompression bomb: {exc}") from exc
    except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, EOFError, ...
        raise ImageRejected(f"truncated or corrupt {fmt} data ({exc})") from exc
    # Pillow tolerates a PNG cut after its pixel data; a file without IEND is still truncated.
    if fmt == "PNG" and data.rfind(_PNG_IEND) == -1:
        raise ImageRejected("truncated or corrupt PNG data (no IEND chunk)")


def _thumbnail(img: Image.Image, fmt: str, thumb_size: int) -> bytes:
    try:
        return _thumbnail_bytes(img, fmt, thumb_size)
    except Exception as exc:  # a layout Pillow decodes but cannot convert must not crash intake
        raise ImageRejected(f"unsupported {fmt} pixel layout (mode {img.mode}): {exc}") from exc


def _thumbnail_bytes(img: Image.Image, fmt: str, thumb_size: int) -> bytes:
    img = _orient(img, fmt)
    img = _to_resizable_mode(img)
    # reducing_gap 1: a box reduction by the whole factor first, then bicubic; 0.5 instead of
    # 1.3 CPU-ms for a 450-px cell, no visible difference at thumbnail size
    img = img.resize(_fit(img.size, thumb_size), Image.Resampling.BICUBIC, reducing_gap=1.0)
    img = _flatten_to_rgb(img)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=_THUMB_QUALITY)
    return out.getvalue()


def _model_input(img: Image.Image, fmt: str, data: bytes, geometry: CropGeometry) -> bytes:
    """The crop inference would cut from this file (classifier.crops), so it can skip the
    decode later. JPEG decodes at a reduced scale chosen for the crop, not the thumbnail: it is
    decoded once more at that scale, as inference would. Best effort: a layout the crop cannot
    handle leaves it to inference, which decodes the original and reports it there."""
    try:
        if fmt == "JPEG":
            crop = crop_image(data, fraction=geometry.fraction, size=geometry.size, name="upload")
        else:
            crop = centre_crop(img.convert("RGB"), fraction=geometry.fraction, size=geometry.size)
        return encode_crop(crop)
    except Exception:  # noqa: BLE001  (no crop is a slower inference, not a refusal)
        return b""


def _orient(img: Image.Image, fmt: str) -> Image.Image:
    # Only camera-style formats carry an orientation tag worth honouring.
    if fmt in {"JPEG", "TIFF"} and img.getexif().get(0x0112, 1) != 1:
        return ImageOps.exif_transpose(img)
    return img


def _fit(size: tuple[int, int], thumb_size: int) -> tuple[int, int]:
    """Scale so the longest side is exactly thumb_size (small images are enlarged)."""
    width, height = size
    scale = thumb_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_resizable_mode(img: Image.Image) -> Image.Image:
    """Bring odd modes to L/RGB/RGBA/LA, which resize with proper filtering."""
    mode = img.mode
    if mode in {"RGB", "L", "RGBA", "LA"}:
        return img
    if mode.startswith("I") or mode == "F":
        return _stretch_to_l(img)
    if mode in {"P", "PA"}:
        return img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
    if mode == "1":
        return img.convert("L")
    if mode == "La":
        return img.convert("LA")
    return img.convert("RGBA" if mode == "RGBa" else "RGB")  # CMYK, YCbCr, LAB, HSV, RGBX


def _stretch_to_l(img: Image.Image) -> Image.Image:
    # 16/32-bit and float data rarely fill their range; stretch to 8 bits so the thumbnail shows it.
    img = img.convert("F")
    low, high = cast(tuple[float, float], img.getextrema())  # one band: (low, high)
    scale = 255.0 / (high - low) if high > low else 0.0
    return img.point(lambda v: (v - low) * scale).convert("L")


def _flatten_to_rgb(img: Image.Image) -> Image.Image:
    # Transparent areas become black, like the C-NMC background.
    if img.mode in {"RGBA", "LA"}:
        background = Image.new("RGB", img.size)
        background.paste(img.convert("RGBA"), mask=img.getchannel("A"))
        return background
    return img.convert("RGB") if img.mode != "RGB" else img
