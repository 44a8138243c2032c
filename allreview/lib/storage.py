"""Local files for code that needs a path (PyTorch data loaders, checkpoint loading)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.files.storage import default_storage


def local_path(name: str, cache: Path) -> Path:
    """The stored file itself on local storage; with remote storage (S3), a copy at `cache`,
    written once and atomically so a crashed copy is never taken for a whole one."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:
        if not cache.exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(cache.name + ".part")
            with default_storage.open(name, "rb") as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(cache)
        return cache
