from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from allreview.lib.imaging import (
    ALLOWED_FORMATS,
    CheckedImage,
    ImageLimits,
    ImageRejected,
    check_image,
    check_images,
    sha256_bytes,
)
from tests.lib.images import cell_image, encode, png_header_only


def reason_of(data: bytes, **kwargs: object) -> str:
    with pytest.raises(ImageRejected) as info:
        check_image(data, **kwargs)
    return info.value.reason


def thumb_of(checked: CheckedImage) -> Image.Image:
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    thumb.load()
    return thumb


# --- good files -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(ALLOWED_FORMATS))
def test_each_accepted_format_is_recognised_by_content_despite_a_wrong_extension(
    fmt: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = request.getfixturevalue(f"{fmt.lower()}_bytes")
    misnamed = tmp_path / "cell.gif"  # the name lies; only the bytes count
    misnamed.write_bytes(data)

    checked = check_image(misnamed.read_bytes())

    assert (checked.format, checked.width, checked.height, checked.mode) == (fmt, 450, 450, "RGB")
    assert checked.size == len(data)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


def test_thumbnail_is_an_rgb_jpeg_with_longest_side_thumb_size(png_bytes: bytes) -> None:
    thumb = thumb_of(check_image(png_bytes))
    assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (128, 128))


def test_thumbnail_keeps_aspect_ratio_and_honours_thumb_size() -> None:
    data = encode(cell_image((450, 300)), "PNG")
    assert thumb_of(check_image(data)).size == (128, 85)
    assert thumb_of(check_image(data, thumb_size=64)).size == (64, 43)


def test_small_but_allowed_image_is_enlarged_to_thumb_size() -> None:
    checked = check_image(encode(cell_image((64, 80)), "BMP"))
    assert (checked.width, checked.height) == (64, 80)
    assert thumb_of(checked).size == (102, 128)


def test_thumbnail_shows_the_cell_on_a_black_background(bmp_bytes: bytes) -> None:
    thumb = thumb_of(check_image(bmp_bytes))
    assert max(thumb.getpixel((0, 0))) < 40  # corner: background
    assert max(thumb.getpixel((64, 64))) > 60  # centre: the cell


def test_large_jpeg_reports_its_full_size_though_decoded_at_reduced_scale() -> None:
    checked = check_image(encode(cell_image((2000, 1500)), "JPEG"))
    assert (checked.width, checked.height) == (2000, 1500)
    assert thumb_of(checked).size == (128, 96)


def test_exif_orientation_turns_the_thumbnail_but_not_the_stored_size() -> None:
    img = cell_image((400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees for display
    checked = check_image(encode(img, "JPEG", exif=exif))
    assert (checked.width, checked.height) == (400, 200)
    assert thumb_of(checked).size == (64, 128)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("P", "PNG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("RGBA", "PNG"),
        ("1", "BMP"),
        ("P", "BMP"),
        ("CMYK", "JPEG"),
        ("L", "JPEG"),
        ("CMYK", "TIFF"),
        ("I;16", "TIFF"),
        ("I", "TIFF"),
        ("F", "TIFF"),
        ("RGBA", "TIFF"),
    ],
)
def test_odd_modes_are_accepted_and_thumbnailed_as_rgb(mode: str, fmt: str) -> None:
    source = cell_image((200, 100)).convert("L") if mode.startswith("I") else cell_image((200, 100))
    checked = check_image(encode(source.convert(mode), fmt))
    thumb = thumb_of(checked)
    assert checked.mode == mode
    assert (thumb.mode, thumb.size) == ("RGB", (128, 64))


def test_palette_png_with_transparency_is_flattened_onto_black() -> None:
    img = Image.new("P", (100, 100), 1)
    img.putpalette([0, 0, 0, 255, 255, 255])
    img.paste(0, (50, 0, 100, 100))
    data = encode(img, "PNG", transparency=1)  # left half white but transparent
    thumb = thumb_of(check_image(data, thumb_size=100))  # same size: no resampling involved
    assert max(thumb.getpixel((10, 50))) < 20


def test_sixteen_bit_image_is_stretched_not_clipped_in_the_thumbnail() -> None:
    ramp = Image.linear_gradient("L").resize((256, 256)).rotate(90)  # 0 left .. 255 right
    twelve_bit = ramp.convert("I").point(lambda v: v * 16).convert("I;16")  # 0..4080
    thumb = thumb_of(check_image(encode(twelve_bit, "TIFF"))).convert("L")
    # Clipping at 255 would make the middle white; stretching puts it at mid-grey.
    assert 100 < thumb.getpixel((64, 64)) < 160


# --- bad files --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "bmp", "jpeg", "tiff"])
def test_truncated_file_is_refused_as_corrupt(fmt: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(f"{fmt}_bytes")
    reason = reason_of(data[: len(data) // 2])
    assert reason.startswith(f"truncated or corrupt {fmt.upper()} data")


def test_png_cut_just_before_its_end_chunk_is_refused(png_bytes: bytes) -> None:
    assert "no IEND" in reason_of(png_bytes[:-12])


def test_png_with_damaged_pixel_data_is_refused(png_bytes: bytes) -> None:
    middle = len(png_bytes) // 2
    damaged = png_bytes[:middle] + bytes(64) + png_bytes[middle + 64 :]
    assert reason_of(damaged).startswith("truncated or corrupt PNG data")


def test_random_bytes_are_not_an_image(random_bytes: bytes) -> None:
    assert reason_of(random_bytes) == "not an image"


def test_text_file_named_png_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "cell.png"
    fake.write_text("patient 51, cell 1: blast\n" * 50)
    assert reason_of(fake.read_bytes()) == "not an image"


def test_empty_file_is_refused() -> None:
    assert reason_of(b"") == "empty file"


def test_gif_is_named_and_refused(gif_bytes: bytes) -> None:
    assert reason_of(gif_bytes) == "format GIF not accepted (BMP, PNG, JPEG, TIFF)"


def test_webp_is_named_and_refused(cell: Image.Image) -> None:
    assert reason_of(encode(cell, "WEBP")).startswith("format WEBP not accepted")


def test_tiny_image_is_too_small() -> None:
    data = encode(cell_image((10, 10)), "PNG")
    assert reason_of(data) == "image 10x10 too small (min side 64 px)"


def test_long_thin_image_is_too_large() -> None:
    data = png_header_only(5000, 64)
    assert reason_of(data) == "image 5000x64 too large (max side 4096 px)"


def test_file_over_the_byte_limit_is_refused(bmp_bytes: bytes) -> None:
    reason = reason_of(bmp_bytes, limits=ImageLimits(max_bytes=100_000))
    assert reason == f"file of {len(bmp_bytes)} bytes is over the limit of 100000"


def test_header_claiming_ten_billion_pixels_is_a_bomb() -> None:
    assert reason_of(png_header_only(100_000, 100_000)).startswith("decompression bomb")


def test_header_over_our_pixel_limit_is_refused_before_decoding() -> None:
    # 4000x4200 is under Pillow's own global limit, so only our limit can catch it.
    reason = reason_of(png_header_only(4000, 4200))
    claim = "header claims 4000x4200 = 16800000 pixels (limit 16777216)"
    assert reason == f"decompression bomb: {claim}"


def test_real_large_one_bit_image_is_refused_by_pixel_count() -> None:
    data = encode(Image.new("1", (4096, 4200)), "PNG")  # tiny file, 17 Mpx
    assert len(data) < 50_000
    assert reason_of(data).startswith("decompression bomb")


def test_pillow_bomb_warning_is_a_refusal_even_when_our_limits_are_looser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Between 1x and 2x Pillow's limit it only warns; that warning must still refuse the file.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)
    loose = ImageLimits(max_pixels=10**9, max_side=10**5)
    assert reason_of(png_header_only(120, 120), limits=loose).startswith("decompression bomb")
    assert reason_of(png_header_only(150, 150), limits=loose).startswith("decompression bomb")


def test_global_pixel_limit_is_left_alone(png_bytes: bytes) -> None:
    before = Image.MAX_IMAGE_PIXELS
    check_image(png_bytes)
    assert before == Image.MAX_IMAGE_PIXELS


def test_multipage_tiff_is_refused(multipage_tiff: bytes) -> None:
    assert reason_of(multipage_tiff).startswith("multi-frame TIFF (3 pages)")


def test_animated_png_is_refused(animated_png: bytes) -> None:
    assert reason_of(animated_png).startswith("multi-frame PNG (2 frames)")


# --- batches and hashing ------------------------------------------------------------------------


def test_sha256_bytes_matches_the_standard_test_vector() -> None:
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_bytes(b"abc") == expected


def test_batch_reports_duplicates_and_refusals_by_file_name(
    png_bytes: bytes, bmp_bytes: bytes, gif_bytes: bytes
) -> None:
    files = [("a.png", png_bytes), ("b.bmp", bmp_bytes), ("c.gif", gif_bytes), ("d.png", png_bytes)]
    batch = check_images(files)
    assert [item.name for item in batch.accepted] == ["a.png", "b.bmp"]
    assert batch.rejected == (("c.gif", "format GIF not accepted (BMP, PNG, JPEG, TIFF)"),)
    assert [(d.name, d.duplicate_of) for d in batch.duplicates] == [("d.png", "a.png")]
    assert not batch.ok


def test_real_cnmc_cells_pass(cnmc_dir: Path) -> None:
    with open(cnmc_dir / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    picked = rows[:: max(1, len(rows) // 8)][:8]  # spread over patients, both labels
    for row in picked:
        checked = check_image((cnmc_dir / row["file"]).read_bytes())
        assert (checked.format, checked.width, checked.height) == ("PNG", 450, 450)
        assert thumb_of(checked).size == (128, 128)
