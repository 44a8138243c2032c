"""Storing an image and the files derived from it under one name base: the original, its
thumbnail and, when the check cut one, its model-ready crop. One helper for uploaded cells
(`cases.services`), fields (`fields.intake`) and cells cut from fields (`fields.crops`).

Files are written before the rows that name them are committed. `StoredFiles` keeps their
names, and `files_removed_on_failure` removes them when the block fails, so a failed upload or
segmentation leaves no orphan on disk; once the transaction that owns them has committed
(`keep_on_commit`), they belong to its rows and stay whatever happens after.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction

from allreview.lib.imaging import CheckedImage

EXTENSION_BY_FORMAT = {"BMP": "bmp", "PNG": "png", "JPEG": "jpg", "TIFF": "tif"}


@dataclass(frozen=True)
class ImageFiles:
    """Storage names of one image's files ('' for a model-ready crop not made)."""

    image: str
    thumbnail: str
    model_input: str = ""
    model_input_geometry: str = ""  # the crop's CropGeometry.key, '' without a crop


class StoredFiles:
    """The names of the files written for rows not committed yet. Safe to write from several
    threads at once (an upload stores its cells in a thread pool)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.committed = False
        self._lock = threading.Lock()

    def save(self, name: str, content: bytes | BinaryIO) -> str:
        """Store `content` (bytes, or an open file streamed from disk) under `name` or, when
        that is taken, a free name near it; the name used."""
        data = ContentFile(content) if isinstance(content, bytes) else File(content)
        saved = default_storage.save(name, data)
        with self._lock:
            self.names.append(saved)
        return saved

    def keep_on_commit(self) -> None:
        """From the commit of the current transaction on, the files belong to its rows: never
        removed, even if the block fails after the commit (an on-commit hook that raises)."""
        transaction.on_commit(self._committed)

    def _committed(self) -> None:
        self.committed = True

    def discard(self, *names: str) -> None:
        """Remove files written here that no row will name after all ('' names are skipped)."""
        with self._lock:
            self.names = [name for name in self.names if name not in names]
        for name in names:
            if name:
                default_storage.delete(name)

    def remove(self) -> None:
        with self._lock:
            names, self.names = self.names, []
        for name in names:
            default_storage.delete(name)


@contextmanager
def files_removed_on_failure() -> Iterator[StoredFiles]:
    """A StoredFiles whose files are removed when the block raises anything (a refusal, a
    database error, a task's time limit), unless their transaction had committed."""
    files = StoredFiles()
    try:
        yield files
    except BaseException:
        if not files.committed:
            files.remove()
        raise


def image_files_store(
    *,
    files: StoredFiles,
    base: str,
    checked: CheckedImage,
    original: bytes | BinaryIO,
    with_model_input: bool = True,
) -> ImageFiles:
    """`base`.<format's extension> (the original as it is), `base`.thumb.jpg and, when the check
    cut the model's input and `with_model_input`, `base`.in<geometry>.png."""
    image = files.save(f"{base}.{EXTENSION_BY_FORMAT[checked.format]}", original)
    thumbnail = files.save(f"{base}.thumb.jpg", checked.thumbnail)
    if not (with_model_input and checked.model_input):
        return ImageFiles(image, thumbnail)
    geometry = checked.model_input_geometry.replace("/", "-").replace("@", "-")
    model_input = files.save(f"{base}.in{geometry}.png", checked.model_input)
    return ImageFiles(image, thumbnail, model_input, checked.model_input_geometry)
