"""The model's input, on Pillow alone: decode to RGB, take the centre crop, resize it to the
input size. No torch here, so the platform's web process (which never loads the ML stack) can
write each cell's model-ready crop once at upload (`PreparedCrop`), and inference reads that
instead of decoding the original again. `classifier.data.load_crop` makes the same crop from an
original when there is none; both go through `centre_crop`, so the two are the same pixels.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from classifier.errors import ImageError


@dataclass(frozen=True)
class PreparedCrop:
    """A cell's model input made earlier (at upload): already the centre crop at the input
    size, as an image file (its bytes or its path)."""

    source: bytes | str | Path


ImageInput = str | Path | bytes | Image.Image | PreparedCrop


@dataclass(frozen=True)
class CropGeometry:
    """Centre `crop` px of a `frame` px source frame, resized to `size` px (a profile's crop,
    image_size and input_size)."""

    crop: int
    frame: int
    size: int

    @property
    def fraction(self) -> float:
        return self.crop / self.frame

    @property
    def key(self) -> str:
        """How a stored crop says what it is: equal keys, equal pixels."""
        return f"{self.crop}/{self.frame}@{self.size}"


def open_image(
    source: bytes | str | Path | Image.Image,
    name: str = "image",
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode to RGB with Pillow; ImageError names the file and the reason. `draft` lets JPEG
    decode at a reduced scale that is still at least that size (other formats ignore it)."""
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        with Image.open(handle) as image:
            if draft is not None and image.format == "JPEG":
                image.draft("RGB", draft)
            return image.convert("RGB")
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name}: cannot decode image ({exc})") from None


def centre_crop(image: Image.Image, *, fraction: float, size: int) -> Image.Image:
    """Centre crop (a fraction of the frame) resized to `size`, in one Pillow call."""
    width, height = image.size
    cw, ch = width * fraction, height * fraction
    box = ((width - cw) / 2, (height - ch) / 2, (width + cw) / 2, (height + ch) / 2)
    # reducing_gap lets Pillow shrink by integer factors first: much cheaper, no visible loss
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)


def crop_image(source: ImageInput, *, fraction: float, size: int, name: str) -> Image.Image:
    """The model's RGB input of one cell: a prepared crop as it is, else cut from the original."""
    if isinstance(source, PreparedCrop):
        image = open_image(source.source, name)
        if image.size != (size, size):
            raise ImageError(f"{name}: prepared crop is {image.size}, not {size}x{size}")
        return image
    side = math.ceil(size / fraction)  # JPEG: the smallest decode that still holds the crop
    return centre_crop(open_image(source, name, draft=(side, side)), fraction=fraction, size=size)


def encode_crop(image: Image.Image) -> bytes:
    """Lossless, small and fast to write and read back (a 64 px crop: ~7 KB, ~0.2 ms)."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
