"""Turning what a user sent (files, zips, a folder) into checked images, or a list of problems.

Nothing here touches the database or storage: it decides what may be stored.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest

from allreview.lib.archives import (
    ArchiveLimits,
    ArchiveRejected,
    InflateBudget,
    Problem,
    is_zip,
    read_zip,
)
from allreview.lib.fieldimages import looks_like_field
from allreview.lib.imaging import CheckedImage, ImageLimits, check_image_source, exit_with
from classifier.crops import CropGeometry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingFile:
    """One file as sent: its bytes in memory (small: tests, the demo) or, for uploads and archive
    members, a file on disk read only when needed, so an upload never sits whole in memory."""

    name: str
    data: bytes = b""
    truth: str = ""  # imported ground truth ("all"/"hem"), e.g. from the C-NMC folder layout
    path: str = ""  # the content's file, instead of `data`
    # its check, started while the rest of the upload was still arriving (EarlyCheckHandler)
    precheck: Future[CheckedImage | str] | None = field(default=None, compare=False, repr=False)

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
            precheck = getattr(upload, "precheck", None)
            return cls(upload.name, path=upload.temporary_file_path(), precheck=precheck)
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


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ingest_pool() -> ThreadPoolExecutor:
    """Storage writes and inflating release the GIL: one thread per core."""
    return ThreadPoolExecutor(max_workers=max(1, min(8, cores())))


_check_pool: ProcessPoolExecutor | None = None
_check_pool_lock = threading.Lock()


def check_pool() -> Executor | None:
    """Worker processes, one per core, that decode, check, hash, thumbnail and crop the cells:
    started once per web process (from a clean forkserver, never by forking the threaded
    server) and kept, so an upload pays no start-up. Separate processes run the Python parts
    of decoding beside the request thread instead of taking turns on its GIL, and a decoder
    that crashes on hostile bytes takes a worker down, not the web server. None where no child
    process may be started (a daemonic Celery prefork child) or on one core: threads then."""
    global _check_pool
    if multiprocessing.current_process().daemon or cores() < 2:
        return None
    with _check_pool_lock:
        if _check_pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["allreview.lib.imaging"])
            _check_pool = ProcessPoolExecutor(
                max_workers=min(8, cores()),
                mp_context=context,
                initializer=exit_with,
                initargs=(os.getpid(),),
            )
        return _check_pool


def _check_pool_discard() -> None:
    global _check_pool
    with _check_pool_lock:
        if _check_pool is not None:
            _check_pool.shutdown(wait=False, cancel_futures=True)
        _check_pool = None


def _checker(geometry: CropGeometry | None) -> partial[CheckedImage | str]:
    return partial(
        check_image_source,
        limits=image_limits(),
        thumb_size=settings.THUMBNAIL_SIZE,
        model_input=geometry,
    )


class EarlyCheckHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file to a temporary file, as Django's default handler does, and
    hands it to the checking processes as soon as it is complete: files are decoded while the
    rest of the body is still being received and parsed, instead of after it. Installed only
    once the user's right to upload to the project has been checked (the geometry is that
    project's), and only for the first UPLOAD_MAX_FILES plain files; a zip, or anything past
    that, is checked later as before. What a precheck finds is used by `checked_stream` exactly as
    its own check would be: nothing is accepted here."""

    def __init__(self, request: HttpRequest, *, geometry: CropGeometry | None) -> None:
        super().__init__(request)
        self.check = _checker(geometry)
        self.started = 0

    def file_complete(self, file_size: int) -> UploadedFile | None:
        upload = super().file_complete(file_size)
        pool = check_pool()
        if upload is None or pool is None or self.started >= settings.UPLOAD_MAX_FILES:
            return upload
        path = upload.temporary_file_path()  # type: ignore[attr-defined]  # this handler's
        upload.file.flush()  # type: ignore[union-attr]
        if not is_zip(path):
            try:
                upload.precheck = pool.submit(self.check, path)  # type: ignore[attr-defined]
                self.started += 1
            except BrokenProcessPool:
                _check_pool_discard()  # checked later, on a fresh pool
        return upload


def early_checks_install(request: HttpRequest, *, geometry: CropGeometry | None) -> None:
    """Check each file of this request's upload as it arrives (EarlyCheckHandler); call before
    the body is read, after the permission check. Where the body was read already (a CSRF
    check reads the form's token from it), files are checked after it, as before."""
    if not hasattr(request, "_files") and check_pool() is not None:
        request.upload_handlers = [EarlyCheckHandler(request, geometry=geometry)]


def _check_all(
    files: list[IncomingFile], geometry: CropGeometry | None
) -> Iterator[CheckedImage | str]:
    """CheckedImage or the reason for refusal of each file, in order, each as soon as it and
    those before it are done (so the caller can store while later files are checked): a check
    started while the upload arrived (with the same geometry) is waited for, the others are
    run now."""
    check = _checker(geometry)
    sources = [item.path or item.data for item in files]
    pool = check_pool()
    if pool is None:
        with ingest_pool() as threads:
            yield from threads.map(check, sources)
        return
    try:
        late = [i for i, item in enumerate(files) if item.precheck is None]
        chunks = max(1, len(late) // (8 * cores()))
        results = pool.map(check, [sources[i] for i in late], chunksize=chunks)
        for item in files:
            yield item.precheck.result() if item.precheck is not None else next(results)
    except BrokenProcessPool:
        _check_pool_discard()
        logger.error("an image checking process stopped during an upload; upload refused")
        raise UploadRejected(
            [Problem("(upload)", "an image could not be checked (its checker stopped); try again")]
        ) from None


class Acceptance:
    """Each checked file accepted or refused in upload order, so an upload can be stored while
    its later files are still being checked: `take` answers the AcceptedImage or None (refused:
    the reason joins `problems`); `close` refuses the whole upload if anything was."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._first_by_hash: dict[str, tuple[int, str]] = {}

    def take(
        self, index: int, item: IncomingFile, checked: CheckedImage | str
    ) -> AcceptedImage | None:
        verdict = self._judge(index, item, checked)
        if isinstance(verdict, Problem):
            self.problems.append(verdict)
            return None
        return verdict

    def _judge(
        self, index: int, item: IncomingFile, checked: CheckedImage | str
    ) -> AcceptedImage | Problem:
        if isinstance(checked, str):
            return Problem(item.name, checked)
        if item.truth and item.truth not in {"all", "hem"}:
            return Problem(item.name, f"label {item.truth!r} is not 'all' or 'hem'")
        earlier_index, earlier = self._first_by_hash.setdefault(checked.sha256, (index, item.name))
        if earlier_index != index:
            return Problem(item.name, f"duplicate image: same content as {earlier}")
        is_field, problem = _field_kind(item, checked)  # issue 14: fields beside single cells
        return problem or AcceptedImage(item, checked, is_field=is_field)

    def close(self) -> None:
        if self.problems:
            raise UploadRejected(self.problems)


def checked_stream(
    files: list[IncomingFile], *, model_input: CropGeometry | None = None
) -> Iterator[AcceptedImage | None]:
    """Decode and check every file (and cut its model input crop of that geometry), yielding
    each file's AcceptedImage (None when refused) in order as its check finishes; after the
    last, UploadRejected naming every bad or repeated file if there was one. A caller that
    stores as it goes must undo what it stored when that is raised."""
    problems = check_limits(files)
    if problems:
        raise UploadRejected(problems)
    acceptance = Acceptance()
    for index, (item, checked) in enumerate(
        zip(files, _check_all(files, model_input), strict=True)
    ):
        yield acceptance.take(index, item, checked)
    acceptance.close()


def check_files(
    files: list[IncomingFile], *, model_input: CropGeometry | None = None
) -> list[AcceptedImage]:
    """Decode and check every file (and cut its model input crop of that geometry); refuse the
    whole upload if any is bad or repeated."""
    stream = checked_stream(files, model_input=model_input)
    return [image for image in stream if image is not None]


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
