"""Safe reading of uploaded zip archives into memory, with every refusal collected at once.

Pure helper: no Django, nothing is ever extracted to disk. `read_zip` either returns the
members worth checking as images, or raises `ArchiveRejected` listing each bad entry and why.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_JUNK_DIRS = frozenset({"__MACOSX"})
_JUNK_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCRYPTED = 0x1 | 0x40  # traditional and strong encryption flags
_NESTED_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "zip"),
    (0, b"PK\x05\x06", "zip"),
    (0, b"PK\x07\x08", "zip"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"BZh", "bzip2"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"(\xb5/\xfd", "zstd"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"Rar!\x1a\x07", "rar"),
    (257, b"ustar", "tar"),
)


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 5000
    max_total_bytes: int = 2 * 2**30
    max_member_bytes: int = 20 * 2**20
    max_ratio: float = 200.0  # uncompressed/compressed; above it we suspect a zip bomb
    # Below this many bytes a high ratio is harmless (a tiny black image compresses very well).
    ratio_min_bytes: int = 2**20


@dataclass(frozen=True)
class Member:
    name: str  # path inside the archive, forward slashes, no "." parts
    data: bytes


@dataclass(frozen=True)
class Problem:
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


class ArchiveRejected(ValueError):
    """An archive we refuse; `problems` names every bad entry (or the archive itself)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        lines = "\n".join(f"  {p}" for p in self.problems)
        return f"archive refused, {len(self.problems)} problem(s):\n{lines}"

    def __str__(self) -> str:
        return self._message()


def is_zip(data_or_file: bytes | bytearray | memoryview | BinaryIO | str | os.PathLike) -> bool:
    """True when the content starts like a zip archive, whatever the file is called."""
    return _head(data_or_file, 4) in _ZIP_MAGIC


def nested_archive_kind(data: bytes) -> str | None:
    """Name the archive or compressed format `data` starts with, if any."""
    for offset, magic, kind in _NESTED_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return kind
    return None


def read_zip(
    fileobj: BinaryIO,
    *,
    limits: ArchiveLimits = ArchiveLimits(),
    archive_name: str | None = None,
) -> list[Member]:
    """Read all acceptable members into memory, or raise `ArchiveRejected` with all problems."""
    archive = archive_name or _name_of(fileobj)
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveRejected([Problem(archive, f"not a valid zip archive ({exc})")]) from exc
    with zf:
        entries, problems = _screen_entries(zf.infolist(), limits)
        over_limits = _archive_level_problems(archive, entries, limits)
        problems += over_limits
        members: list[Member] = []
        if not over_limits:  # never inflate an archive already known to be too big
            members, read_problems = _read_members(zf, entries, archive, limits)
            problems += read_problems
    if problems:
        raise ArchiveRejected(problems)
    return members


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    name: str


def _screen_entries(
    infos: list[zipfile.ZipInfo], limits: ArchiveLimits
) -> tuple[list[_Entry], list[Problem]]:
    """Header-only checks: drop junk, flag unsafe or oversized entries before reading a byte."""
    entries: list[_Entry] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for info in infos:
        raw = info.filename.replace("\\", "/")
        reason = _path_problem(raw) or _header_problem(info, limits)
        if reason:
            problems.append(Problem(raw, reason))
            continue
        if info.is_dir() or raw.endswith("/") or _is_junk(raw):
            continue
        name = _normalise(raw)
        if name in seen:
            problems.append(Problem(name, "duplicate name in archive"))
            continue
        seen.add(name)
        entries.append(_Entry(info, name))
    return entries, problems


def _path_problem(name: str) -> str | None:
    if name.startswith("/"):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive letter in path"
    if ".." in name.split("/"):
        return "'..' in path"
    if "\x00" in name:
        return "NUL byte in name"
    return None


def _header_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if info.flag_bits & _ENCRYPTED:
        return "encrypted member"
    if info.file_size > limits.max_member_bytes:
        return _too_big(info.file_size, limits)
    return _ratio_problem(info.file_size, info.compress_size, limits)


def _ratio_problem(size: int, compressed: int, limits: ArchiveLimits) -> str | None:
    if size < limits.ratio_min_bytes:
        return None
    ratio = size / max(compressed, 1)
    if ratio > limits.max_ratio:
        return f"suspicious compression ratio {ratio:.0f}:1 (limit {limits.max_ratio:.0f}:1)"
    return None


def _too_big(size: int, limits: ArchiveLimits) -> str:
    return f"member of {size} bytes is over the limit of {limits.max_member_bytes}"


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    base = parts[-1]
    return (
        bool(_JUNK_DIRS.intersection(parts)) or base.lower() in _JUNK_FILES or base.startswith("._")
    )


def _normalise(name: str) -> str:
    return "/".join(part for part in name.split("/") if part not in {"", "."})


def _archive_level_problems(
    archive: str, entries: list[_Entry], limits: ArchiveLimits
) -> list[Problem]:
    """Count and size limits over the whole archive, by header, so a bomb is never inflated."""
    problems: list[Problem] = []
    if len(entries) > limits.max_files:
        problems.append(
            Problem(archive, f"{len(entries)} files, over the limit of {limits.max_files}")
        )
    total = sum(e.info.file_size for e in entries)
    if total > limits.max_total_bytes:
        problems.append(Problem(archive, _total_reason(total, limits)))
    compressed = sum(e.info.compress_size for e in entries)
    reason = _ratio_problem(total, compressed, limits)
    if reason:
        problems.append(Problem(archive, f"archive as a whole: {reason}"))
    return problems


def _total_reason(total: int, limits: ArchiveLimits) -> str:
    return f"{total} bytes uncompressed, over the limit of {limits.max_total_bytes}"


def _read_members(
    zf: zipfile.ZipFile, entries: list[_Entry], archive: str, limits: ArchiveLimits
) -> tuple[list[Member], list[Problem]]:
    """Read each member with a hard bound, in case a header lies about its size."""
    members: list[Member] = []
    problems: list[Problem] = []
    total = 0
    for entry in entries:
        try:
            data = _read_bounded(zf, entry.info, limits.max_member_bytes)
        except _CorruptMember as exc:
            problems.append(Problem(archive, f"corrupt zip archive ({exc})"))
            break  # the rest of a damaged archive is not worth trusting or reading
        total += len(data)
        reason = _content_problem(entry.info, data, limits)
        if reason:
            problems.append(Problem(entry.name, reason))
        elif total > limits.max_total_bytes:
            problems.append(Problem(archive, _total_reason(total, limits)))
            break
        else:
            members.append(Member(entry.name, data))
    return members, problems


class _CorruptMember(Exception):
    pass


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, bound: int) -> bytes:
    try:
        with zf.open(info) as stream:
            return stream.read(bound + 1)
    except NotImplementedError as exc:  # e.g. deflate64, which zipfile cannot read
        raise _CorruptMember(f"{info.filename}: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise _CorruptMember(f"{info.filename}: {exc}") from exc


def _content_problem(info: zipfile.ZipInfo, data: bytes, limits: ArchiveLimits) -> str | None:
    if len(data) > limits.max_member_bytes:
        return _too_big(len(data), limits) + f" (header said {info.file_size})"
    if len(data) != info.file_size:
        return f"holds {len(data)} bytes but its header says {info.file_size}"
    kind = nested_archive_kind(data)
    if kind:
        return f"nested archive ({kind}) not accepted; upload images only"
    return _ratio_problem(len(data), info.compress_size, limits)


def _head(source: bytes | bytearray | memoryview | BinaryIO | str | os.PathLike, n: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:n])
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            return fh.read(n)
    start = source.tell()  # leave the caller's stream where it was
    try:
        return source.read(n)
    finally:
        source.seek(start)


def _name_of(fileobj: BinaryIO) -> str:
    name = getattr(fileobj, "name", None)
    return Path(name).name if isinstance(name, str) and name else "archive"
