"""Safe reading of uploaded zip archives, with every refusal collected at once.

Pure helper: no Django. `read_zip` either returns the members worth checking as images, or
raises `ArchiveRejected` listing each bad entry and why. Members are read into memory, or, with
`extract_to`, inflated chunk by chunk into files of that folder under names of our own (never the
archive's paths), so memory stays bounded whatever the archive holds. An `InflateBudget` shared
by all archives of one upload bounds what they inflate to together.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
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
    data: bytes = b""
    path: str = ""  # with `extract_to`: the file holding the inflated content (data stays empty)


@dataclass
class InflateBudget:
    """Bytes one upload may hold uncompressed, shared by all of its files and archives, so several
    small high-ratio archives cannot inflate more together than one may."""

    limit: int
    used: int = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def refusal(self, wanted: int) -> str:
        return (
            f"inflates to {wanted} bytes, past the upload's limit of {self.limit} bytes "
            f"uncompressed ({self.used} bytes taken by the files before it)"
        )


_HEAD_BYTES = 512  # enough for every magic number we look for
_CHUNK = 1 << 20


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


def is_zip(
    data_or_file: bytes | bytearray | memoryview | BinaryIO | str | os.PathLike[str],
) -> bool:
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
    extract_to: Path | None = None,
    budget: InflateBudget | None = None,
) -> list[Member]:
    """Read all acceptable members (into memory, or into files under `extract_to`), or raise
    `ArchiveRejected` with all problems. An archive with no file at all is refused too."""
    archive = archive_name or _name_of(fileobj)
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveRejected([Problem(archive, f"not a valid zip archive ({exc})")]) from exc
    reader = _Reader(zf, archive, limits, extract_to, budget)
    with zf:
        entries, problems = _screen_entries(zf.infolist(), limits)
        over_limits = _archive_level_problems(archive, entries, limits, budget)
        problems += over_limits
        members: list[Member] = []
        if not over_limits:  # never inflate an archive already known to be too big
            members, read_problems = reader.read_all(entries)
            problems += read_problems
    if not problems and not members:
        problems.append(Problem(archive, "empty archive: it holds no files"))
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
    archive: str, entries: list[_Entry], limits: ArchiveLimits, budget: InflateBudget | None
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
    elif budget is not None and budget.used + total > budget.limit:
        problems.append(Problem(archive, budget.refusal(total)))
    compressed = sum(e.info.compress_size for e in entries)
    reason = _ratio_problem(total, compressed, limits)
    if reason:
        problems.append(Problem(archive, f"archive as a whole: {reason}"))
    return problems


def _total_reason(total: int, limits: ArchiveLimits) -> str:
    return f"{total} bytes uncompressed, over the limit of {limits.max_total_bytes}"


class _Reader:
    """Reads the screened entries of one archive, each with a hard bound in case a header lies
    about its size, into memory or into files of `extract_to`."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        archive: str,
        limits: ArchiveLimits,
        extract_to: Path | None,
        budget: InflateBudget | None,
    ) -> None:
        self.zf, self.archive, self.limits = zf, archive, limits
        self.extract_to, self.budget = extract_to, budget

    def read_all(self, entries: list[_Entry]) -> tuple[list[Member], list[Problem]]:
        members: list[Member] = []
        problems: list[Problem] = []
        total = 0
        for entry in entries:
            try:
                member, size, head = self._read_one(entry)
            except _CorruptMember as exc:
                problems.append(Problem(self.archive, f"corrupt zip archive ({exc})"))
                break  # the rest of a damaged archive is not worth trusting or reading
            total += size
            reason = _content_problem(entry.info, size, head, self.limits)
            if reason:
                problems.append(Problem(entry.name, reason))
            elif total > self.limits.max_total_bytes:
                problems.append(Problem(self.archive, _total_reason(total, self.limits)))
                break
            elif self.budget is not None and not self.budget.take(size):
                problems.append(Problem(self.archive, self.budget.refusal(total)))
                break
            else:
                members.append(member)
        return members, problems

    def _read_one(self, entry: _Entry) -> tuple[Member, int, bytes]:
        bound = self.limits.max_member_bytes
        if self.extract_to is None:
            data = _read_bounded(self.zf, entry.info, bound)
            return Member(entry.name, data), len(data), data[:_HEAD_BYTES]
        path = self.extract_to / f"{uuid.uuid4().hex}.member"
        size, head = _inflate_bounded(self.zf, entry.info, bound, path)
        return Member(entry.name, path=str(path)), size, head


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


def _inflate_bounded(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, bound: int, path: Path
) -> tuple[int, bytes]:
    """Inflate one member into `path` a chunk at a time, stopping one byte past `bound`;
    returns the bytes written and the first few (for the magic-number checks)."""
    size, head = 0, b""
    try:
        with zf.open(info) as stream, path.open("xb") as out:
            while size <= bound:
                chunk = stream.read(min(_CHUNK, bound + 1 - size))
                if not chunk:
                    break
                if len(head) < _HEAD_BYTES:
                    head += chunk[: _HEAD_BYTES - len(head)]
                out.write(chunk)
                size += len(chunk)
    except NotImplementedError as exc:
        raise _CorruptMember(f"{info.filename}: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise _CorruptMember(f"{info.filename}: {exc}") from exc
    return size, head


def _content_problem(
    info: zipfile.ZipInfo, size: int, head: bytes, limits: ArchiveLimits
) -> str | None:
    if size > limits.max_member_bytes:
        return _too_big(size, limits) + f" (header said {info.file_size})"
    if size != info.file_size:
        return f"holds {size} bytes but its header says {info.file_size}"
    kind = nested_archive_kind(head)
    if kind:
        return f"nested archive ({kind}) not accepted; upload images only"
    return _ratio_problem(size, info.compress_size, limits)


def _head(
    source: bytes | bytearray | memoryview | BinaryIO | str | os.PathLike[str], n: int
) -> bytes:
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
