"""Files: durable writes (temporary name, fsync, rename, fsync the folder), an advisory lock, and
a forgiving JSON reader."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOW_SPACE_BYTES = 1 << 20


def out_of_space(e: OSError, path: Path) -> bool:
    """Whether a failed write ran out of room under `path`: ENOSPC or EDQUOT, or a short write
    without an errno (numpy's "N requested and M written") on a filesystem with under 1 MiB free."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if e.errno is not None:
        return False
    try:
        return shutil.disk_usage(path).free < LOW_SPACE_BYTES
    except OSError:
        return False


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write `data` to `path` so that after a crash the file is either old or new, never torn.
    Without `sync` the new content may be lost on a power cut (the old one is then kept), and the
    write costs no fsync: for files that can be rebuilt."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if sync:
        fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True, busy: Callable[[], Exception] | None = None) -> Iterator[int]:
    """Hold an exclusive advisory lock on `path` (created if missing) and yield its descriptor.
    When another process holds it and not `wait`: at once `busy()` raised, or BlockingIOError.
    Closing the descriptor releases the lock, and so does the process dying."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            if busy is None:
                raise
            raise busy() from None
        yield fd
    finally:
        os.close(fd)


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON in `path`, or `default` when the file is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {} if default is None else default


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file, blank lines skipped."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
