"""Turning what a user sent (files, zips, a folder) into checked images, or a list of problems.

Nothing here touches the database or storage: it decides what may be stored.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

from allreview.lib.archives import (
    ArchiveLimits,
    ArchiveRejected,
    InflateBudget,
    Problem,
    is_zip,
    read_zip,
)
from allreview.lib.fieldimages import looks_like_field
from allreview.lib.imaging import CheckedImage, ImageLimits, ImageRejected, check_image


@dataclass(frozen=True)
class IncomingFile:
    """One file as sent: its bytes in memory (small: tests, the demo) or, for uploads and archive
    members, a file on disk read only when needed, so an upload never sits whole in memory."""

    name: str
    data: bytes = b""
    truth: str = ""  # imported ground truth ("all"/"hem"), e.g. from the C-NMC folder layout
    path: str = ""  # the content's file, instead of `data`

    def read(self) -> bytes:
        return Path(self.path).read_bytes() if self.path else self.data

    def open(self) -> BinaryIO:
        return open(self.path, "rb") if self.path else io.BytesIO(self.data)  # noqa: SIM115

    @property
    def size(self) -> int:
        return os.path.getsize(self.path) if self.path else len(self.data)

    @classmethod
    def from_upload(cls, upload: Any) -> IncomingFile:
        """From a Django UploadedFile: its temporary file when it was streamed to disk."""
        if hasattr(upload, "temporary_file_path"):
            return cls(upload.name, path=upload.temporary_file_path())
        return cls(upload.name, upload.read())


@dataclass(frozen=True)
class AcceptedImage:
    incoming: IncomingFile
    checked: CheckedImage
    is_field: bool = False  # a whole smear field (issue 14), segmented into cells on a worker


@dataclass
class UploadRejected(Exception):
    """The upload as a whole is refused; every bad file is named with its reason."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{p.name}: {p.reason}" for p in self.problems)


def image_limits() -> ImageLimits:
    return ImageLimits(
        min_side=settings.UPLOAD_MIN_SIDE,
        max_side=settings.UPLOAD_MAX_SIDE,
        max_pixels=settings.UPLOAD_MAX_SIDE**2,
        max_bytes=settings.UPLOAD_MAX_FILE_BYTES,
    )


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_files=settings.UPLOAD_MAX_FILES,
        max_total_bytes=settings.UPLOAD_MAX_BYTES,
        max_member_bytes=settings.UPLOAD_MAX_FILE_BYTES,
        max_ratio=settings.UPLOAD_MAX_ARCHIVE_RATIO,
    )


def expand_archives(files: Iterable[IncomingFile], *, workdir: Path) -> list[IncomingFile]:
    """Replace each zip by its members ("archive.zip/member.png"), inflated into files under
    `workdir` (which the caller removes), other files pass through. All archives of the upload
    share one inflate budget (UPLOAD_MAX_BYTES, less the plain files), so three small
    high-ratio zips cannot inflate more together than the limit of one upload."""
    files = list(files)
    zips = [_is_zip(item) for item in files]
    plain = sum(item.size for item, z in zip(files, zips, strict=True) if not z)
    budget = InflateBudget(
        limit=settings.UPLOAD_MAX_BYTES, used=min(plain, settings.UPLOAD_MAX_BYTES)
    )
    expanded: list[IncomingFile] = []
    problems: list[Problem] = []
    for item, zipped in zip(files, zips, strict=True):
        if not zipped:
            expanded.append(item)
            continue
        try:
            with item.open() as handle:
                members = read_zip(
                    handle,
                    limits=archive_limits(),
                    archive_name=item.name,
                    extract_to=workdir,
                    budget=budget,
                )
        except ArchiveRejected as exc:
            problems.extend(
                p if p.name == item.name else Problem(f"{item.name}/{p.name}", p.reason)
                for p in exc.problems
            )
            continue
        expanded.extend(
            IncomingFile(f"{item.name}/{m.name}", truth=item.truth, path=m.path) for m in members
        )
    if problems:
        raise UploadRejected(problems)
    return expanded


def _is_zip(item: IncomingFile) -> bool:
    with item.open() as handle:
        return is_zip(handle)


def check_limits(files: list[IncomingFile]) -> list[Problem]:
    problems: list[Problem] = []
    if not files:
        problems.append(Problem("(upload)", "no image files were sent"))
    if len(files) > settings.UPLOAD_MAX_FILES:
        problems.append(
            Problem(
                "(upload)",
                f"{len(files)} files, more than the limit of {settings.UPLOAD_MAX_FILES}",
            )
        )
    total = sum(f.size for f in files)
    if total > settings.UPLOAD_MAX_BYTES:
        problems.append(
            Problem(
                "(upload)", f"{total} bytes, more than the limit of {settings.UPLOAD_MAX_BYTES}"
            )
        )
    return problems


def ingest_pool() -> ThreadPoolExecutor:
    """Decoding, hashing, inflating and writing release the GIL: one thread per core."""
    return ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)))


def _check_one(item: IncomingFile, limits: ImageLimits) -> CheckedImage | Problem:
    try:
        if item.size > limits.max_bytes:  # never read an oversized file into memory
            raise ImageRejected(
                f"file of {item.size} bytes is over the limit of {limits.max_bytes}"
            )
        return check_image(item.read(), limits=limits, thumb_size=settings.THUMBNAIL_SIZE)
    except ImageRejected as exc:
        return Problem(item.name, exc.reason)


def check_files(files: list[IncomingFile]) -> list[AcceptedImage]:
    """Decode and check every file; refuse the whole upload if any is bad or repeated."""
    problems = check_limits(files)
    if problems:
        raise UploadRejected(problems)
    limits = image_limits()
    with ingest_pool() as pool:
        results = list(pool.map(lambda item: _check_one(item, limits), files))
    accepted: list[AcceptedImage] = []
    first_by_hash: dict[str, tuple[int, str]] = {}
    for index, (item, checked) in enumerate(zip(files, results, strict=True)):
        if isinstance(checked, Problem):
            problems.append(checked)
            continue
        if item.truth and item.truth not in {"all", "hem"}:
            problems.append(Problem(item.name, f"label {item.truth!r} is not 'all' or 'hem'"))
            continue
        earlier_index, earlier_name = first_by_hash.setdefault(checked.sha256, (index, item.name))
        if earlier_index != index:
            problems.append(Problem(item.name, f"duplicate image: same content as {earlier_name}"))
            continue
        is_field, problem = _field_kind(item, checked)  # issue 14: fields beside single cells
        if problem is not None:
            problems.append(problem)
            continue
        accepted.append(AcceptedImage(item, checked, is_field=is_field))
    if problems:
        raise UploadRejected(problems)
    return accepted


def _field_kind(item: IncomingFile, checked: CheckedImage) -> tuple[bool, Problem | None]:
    """Whether the image is a whole smear field (by content), and a refusal when a field is
    over the field-size limit or carries a per-cell label."""
    is_field = looks_like_field(
        width=checked.width,
        height=checked.height,
        thumbnail=checked.thumbnail,
        min_side=settings.FIELD_MIN_SIDE,
    )
    if not is_field:
        return False, None
    pixels = checked.width * checked.height
    if pixels > settings.FIELD_MAX_PIXELS:
        return True, Problem(
            item.name,
            f"field of {checked.width}x{checked.height} = {pixels} pixels is over the field "
            f"limit of {settings.FIELD_MAX_PIXELS} pixels",
        )
    if item.truth:
        return True, Problem(item.name, "a whole field cannot carry one cell's label")
    return True, None
