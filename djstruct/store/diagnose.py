"""What is wrong with a store that cannot be opened or written, in words a DJ can act on.

SQLite says "disk I/O error" or "unable to open database file" for a full disk and a read-only
folder alike; :func:`problem` looks at the error and at the file system to tell them apart, and
never advises throwing the store away: it holds the undo journal of every writeback.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from djstruct.config import STORE_ENV

_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
LOW_SPACE_BYTES = 1 << 20
KEEP = (f"keep the file (it holds the undo journal of earlier writebacks) and use another store with --store "
        f"or ${STORE_ENV} until it is repaired")


def _errnos(exc: BaseException) -> set[int]:
    out: set[int] = set()
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno is not None:
            out.add(e.errno)
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]
    return out


def existing_folder(path: Path) -> Path:
    """The nearest folder of ``path`` (itself included) that exists."""
    p = Path(os.path.abspath(path))
    while not p.is_dir() and p.parent != p:
        p = p.parent
    return p


def free_bytes(path: Path) -> int | None:
    try:
        return int(shutil.disk_usage(existing_folder(path)).free)
    except OSError:
        return None


def read_only(path: Path) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing folder) is mounted
    read-only, or the folder is not writable for us."""
    folder = existing_folder(path.parent if not path.is_dir() else path)
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except (OSError, AttributeError):  # no statvfs (Windows)
        pass
    return not os.access(folder, os.W_OK | os.X_OK)


def problem(path: Path, exc: BaseException) -> str:
    """One line saying what is wrong with the store at ``path`` after ``exc`` (an ``OSError`` or
    ``sqlite3.Error``) and what to do."""
    msg = " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__
    low = msg.lower()
    codes = _errnos(exc)
    free = free_bytes(path)
    vague = "disk i/o error" in low or "unable to open" in low
    if codes & _FULL or "disk is full" in low or (vague and free is not None and free < LOW_SPACE_BYTES):
        room = "" if free is None else f", {free} bytes free"
        return (f"the disk holding the store is full ({msg}{room}): free some space and run again "
                "(the store itself is fine)")
    if codes & _READ_ONLY or "readonly" in low or "read-only" in low or (vague and read_only(path)):
        return (f"the store's folder {existing_folder(path.parent)} is read-only ({msg}): djstruct writes its "
                f"lock, journal and WAL files there; make it writable or use another store with --store or "
                f"${STORE_ENV}")
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in low or "malformed" in low
                                                   or "corrupt" in low):
        return f"the store is damaged ({msg}); {KEEP}"
    return msg
