"""Secrets kept in files (the demo's passwords, the local secret key): readable by their owner
only from the first byte, and never half-written.

`write_text()` then `chmod()` leaves a window in which the file has the umask's mode (often
world-readable). Here the file is created by os.open with mode 0600 under a temporary name,
written and synced, then linked into place: a reader sees no file or the whole secret, and two
processes racing keep the first one's secret.

    python -m allreview.lib.secretfile PATH    (creates PATH once with a random token)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

MODE = 0o600


def secret_file_ensure(path: Path, make: Callable[[], str] | None = None) -> str:
    """The secret stored at `path`, created with `make()` (a random token) if there is none."""
    path = Path(path)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make() if make is not None else secrets.token_urlsafe(18)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: keep theirs
            os.link(temporary, path)  # atomic, and never replaces a secret already in place
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


if __name__ == "__main__":
    secret_file_ensure(Path(sys.argv[1]), lambda: secrets.token_urlsafe(50))
