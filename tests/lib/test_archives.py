from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from allreview.lib.archives import (
    ArchiveLimits,
    ArchiveRejected,
    Member,
    Problem,
    is_zip,
    nested_archive_kind,
    read_zip,
)
from tests.lib.images import (
    patch_central_directory,
    set_encrypted_flag,
    set_uncompressed_size,
    zip_bytes,
)

PIXELS = b"not really pixels, archives never look inside images" * 20


def problems_of(data: bytes, **kwargs: object) -> list[Problem]:
    with pytest.raises(ArchiveRejected) as info:
        read_zip(io.BytesIO(data), archive_name="upload.zip", **kwargs)
    return info.value.problems


def symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix
    info.external_attr = 0o120777 << 16  # S_IFLNK | rwxrwxrwx
    return info


def tar_bytes() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("cell.png")
        info.size = len(PIXELS)
        tar.addfile(info, io.BytesIO(PIXELS))
    return out.getvalue()


# --- good archives -----------------------------------------------------------------------------


def test_members_are_read_with_normalised_names_and_junk_skipped(png_bytes: bytes) -> None:
    data = zip_bytes(
        [
            ("case51/", b""),
            ("case51/cell_1.png", png_bytes),
            ("./case51\\cell_2.bmp", PIXELS),
            ("__MACOSX/case51/._cell_1.png", b"resource fork"),
            ("case51/.DS_Store", b"finder"),
            ("case51/Thumbs.db", b"explorer"),
            ("case51/._cell_2.bmp", b"apple double"),
        ]
    )
    members = read_zip(io.BytesIO(data))
    assert members == [
        Member("case51/cell_1.png", png_bytes),
        Member("case51/cell_2.bmp", PIXELS),
    ]


def test_stored_members_and_well_compressed_images_are_fine(bmp_bytes: bytes) -> None:
    stored = zip_bytes([("a.bmp", bmp_bytes)], deflate=False)
    deflated = zip_bytes([("a.bmp", bmp_bytes)])
    assert (
        read_zip(io.BytesIO(stored))
        == read_zip(io.BytesIO(deflated))
        == [Member("a.bmp", bmp_bytes)]
    )


def test_read_zip_accepts_a_real_file_and_names_it_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "lab_upload.zip"
    path.write_bytes(zip_bytes([("../evil.png", PIXELS)]))
    with open(path, "rb") as fh, pytest.raises(ArchiveRejected) as info:
        read_zip(fh)
    assert info.value.problems == [Problem("../evil.png", "'..' in path")]
    path.write_bytes(b"garbage")
    with open(path, "rb") as fh, pytest.raises(ArchiveRejected) as info:
        read_zip(fh)
    assert info.value.problems[0].name == "lab_upload.zip"


# --- is_zip ---------------------------------------------------------------------------------------


def test_is_zip_looks_at_content_not_the_name(tmp_path: Path, png_bytes: bytes) -> None:
    archive = zip_bytes([("a.png", PIXELS)])
    disguised = tmp_path / "cells.png"
    disguised.write_bytes(archive)
    honest_png = tmp_path / "cells.zip"
    honest_png.write_bytes(png_bytes)
    assert is_zip(archive) and is_zip(disguised) and is_zip(str(disguised))
    assert not is_zip(png_bytes) and not is_zip(honest_png) and not is_zip(b"")
    assert is_zip(zip_bytes([]))  # an empty archive is still a zip


def test_is_zip_leaves_a_stream_where_it_was() -> None:
    stream = io.BytesIO(zip_bytes([("a.png", PIXELS)]))
    stream.seek(0)
    assert is_zip(stream)
    assert stream.tell() == 0


# --- bad entries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.png", "'..' in path"),
        ("cells/../../evil.png", "'..' in path"),
        ("..\\evil.png", "'..' in path"),
        ("/abs.png", "absolute path"),
        ("\\abs.png", "absolute path"),
        ("C:/cells/a.png", "drive letter in path"),
        ("c:evil.png", "drive letter in path"),
    ],
)
def test_unsafe_paths_are_refused(name: str, reason: str) -> None:
    data = zip_bytes([("ok.png", PIXELS), (name, PIXELS)])
    assert problems_of(data) == [Problem(name.replace("\\", "/"), reason)]


def test_symlink_entry_is_refused() -> None:
    data = zip_bytes([(symlink_entry("cell.png"), b"/etc/passwd")])
    assert problems_of(data) == [Problem("cell.png", "symbolic link")]


def test_encrypted_member_is_refused() -> None:
    data = patch_central_directory(zip_bytes([("cell.png", PIXELS)]), set_encrypted_flag)
    assert problems_of(data) == [Problem("cell.png", "encrypted member")]


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (lambda: zip_bytes([("inner.png", PIXELS)]), "zip"),
        (lambda: gzip.compress(PIXELS, mtime=0), "gzip"),
        (tar_bytes, "tar"),
        (lambda: b"7z\xbc\xaf\x27\x1c" + PIXELS, "7z"),
        (lambda: b"Rar!\x1a\x07\x01\x00" + PIXELS, "rar"),
    ],
)
def test_nested_archive_is_refused_whatever_its_name(payload: object, kind: str) -> None:
    data = zip_bytes([("ok.png", PIXELS), ("cell_7.png", payload())])  # type: ignore[operator]
    expected = f"nested archive ({kind}) not accepted; upload images only"
    assert problems_of(data) == [Problem("cell_7.png", expected)]


def test_nested_archive_kind_ignores_images(png_bytes: bytes, bmp_bytes: bytes) -> None:
    assert nested_archive_kind(png_bytes) is None
    assert nested_archive_kind(bmp_bytes) is None


def test_member_over_the_size_limit_is_refused_by_header() -> None:
    data = zip_bytes([("big.bmp", bytes(range(256)) * 8), ("ok.png", PIXELS)])
    problems = problems_of(data, limits=ArchiveLimits(max_member_bytes=1500))
    assert problems == [Problem("big.bmp", "member of 2048 bytes is over the limit of 1500")]


def test_highly_compressible_member_is_a_zip_bomb() -> None:
    data = zip_bytes([("cell.bmp", bytes(8 * 2**20))])  # 8 MiB of zeros, ~8 KiB deflated
    assert len(data) < 20_000
    problems = problems_of(data)
    assert problems[0].name == "cell.bmp"
    assert problems[0].reason.startswith("suspicious compression ratio")


def test_many_small_compressible_members_are_a_bomb_as_a_whole() -> None:
    entries = [(f"c{i}.bmp", bytes(600_000)) for i in range(4)]  # each under ratio_min_bytes
    problems = problems_of(zip_bytes(entries))
    assert [p.name for p in problems] == ["upload.zip"]
    assert problems[0].reason.startswith("archive as a whole: suspicious compression ratio")


def test_too_many_files_are_refused() -> None:
    data = zip_bytes([(f"cell_{i}.png", PIXELS) for i in range(5)])
    problems = problems_of(data, limits=ArchiveLimits(max_files=3))
    assert problems == [Problem("upload.zip", "5 files, over the limit of 3")]


def test_junk_does_not_count_towards_the_file_limit() -> None:
    data = zip_bytes([("a.png", PIXELS), ("__MACOSX/._a.png", b"x"), (".DS_Store", b"x")])
    assert len(read_zip(io.BytesIO(data), limits=ArchiveLimits(max_files=1))) == 1


def test_total_size_over_the_limit_is_refused() -> None:
    data = zip_bytes([(f"cell_{i}.png", PIXELS) for i in range(3)])
    problems = problems_of(data, limits=ArchiveLimits(max_total_bytes=2 * len(PIXELS)))
    assert problems == [
        Problem("upload.zip", f"{3 * len(PIXELS)} bytes uncompressed, over the limit of 2080")
    ]


def test_header_understating_the_size_is_caught_when_reading() -> None:
    # The central directory claims 10 bytes; the data inflates to 5000 and fails the CRC.
    honest = zip_bytes([("cell.png", bytes(range(250)) * 20)])
    lying = patch_central_directory(honest, set_uncompressed_size(10))
    problems = problems_of(lying)
    assert len(problems) == 1 and problems[0].name == "upload.zip"
    assert problems[0].reason.startswith("corrupt zip archive")


def test_header_overstating_the_size_is_caught_when_reading() -> None:
    honest = zip_bytes([("cell.png", PIXELS)])
    lying = patch_central_directory(honest, set_uncompressed_size(len(PIXELS) + 100))
    claimed = len(PIXELS) + 100
    assert problems_of(lying) == [
        Problem("cell.png", f"holds {len(PIXELS)} bytes but its header says {claimed}")
    ]


def test_member_larger_than_its_header_never_yields_more_than_the_limit() -> None:
    # Even with a header lie the bounded read cannot hand back more than the limit allows.
    honest = zip_bytes([("cell.png", bytes(range(250)) * 20)], deflate=False)
    lying = patch_central_directory(honest, set_uncompressed_size(100))
    problems = problems_of(lying, limits=ArchiveLimits(max_member_bytes=1000))
    assert problems[0].reason.startswith("corrupt zip archive")


@pytest.mark.parametrize("data", [b"PK\x03\x04" + bytes(200), b"just text", b""])
def test_corrupt_archive_is_one_problem_naming_the_archive(data: bytes) -> None:
    problems = problems_of(data)
    assert [p.name for p in problems] == ["upload.zip"]
    assert problems[0].reason.startswith("not a valid zip archive")


def test_damaged_member_data_is_a_corrupt_archive() -> None:
    data = bytearray(zip_bytes([("cell.png", bytes(range(256)) * 40)], deflate=False))
    data[100] ^= 0xFF  # inside the stored data: the CRC no longer matches
    problems = problems_of(bytes(data))
    assert [p.name for p in problems] == ["upload.zip"]
    assert "CRC" in problems[0].reason


def test_duplicate_names_in_one_archive_are_refused() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = zip_bytes([("cell.png", PIXELS), ("./cell.png", PIXELS), ("cell.png", PIXELS)])
    assert problems_of(data) == [
        Problem("cell.png", "duplicate name in archive"),
        Problem("cell.png", "duplicate name in archive"),
    ]


def test_all_problems_are_collected_and_listed_in_the_message() -> None:
    data = zip_bytes(
        [
            ("ok.png", PIXELS),
            ("../evil.png", PIXELS),
            ("/abs.png", PIXELS),
            (symlink_entry("link.png"), b"/etc/passwd"),
            ("inner.png", zip_bytes([("x.png", PIXELS)])),
        ]
    )
    with pytest.raises(ArchiveRejected) as info:
        read_zip(io.BytesIO(data), archive_name="upload.zip")
    assert [p.name for p in info.value.problems] == [
        "../evil.png",
        "/abs.png",
        "link.png",
        "inner.png",
    ]
    message = str(info.value)
    assert "4 problem(s)" in message
    assert "../evil.png: '..' in path" in message and "link.png: symbolic link" in message


def test_archive_over_the_limits_by_header_is_never_inflated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = zip_bytes([(f"cell_{i}.png", PIXELS) for i in range(3)])

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_reading)
    problems = problems_of(data, limits=ArchiveLimits(max_total_bytes=len(PIXELS)))
    assert [p.name for p in problems] == ["upload.zip"]
    assert "over the limit" in problems[0].reason
