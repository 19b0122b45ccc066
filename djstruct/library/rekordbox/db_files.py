"""The files around ``master.db``: its side files, one hash over what SQLite reads, timestamped
backups (taken before the first change), and the "is rekordbox running" refusal."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from djstruct.errors import WritebackError

SIDE_FILES = ("-wal", "-shm")


def files_sha256(db: Path) -> str:
    """One sha256 over ``master.db`` and its ``-wal`` (what SQLite reads)."""
    h = hashlib.sha256()
    for p in (db, db.with_name(db.name + "-wal")):
        if p.exists():
            h.update(p.name.encode() + b"\0")
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def refuse_if_rekordbox_runs(db: Path) -> None:
    from pyrekordbox.utils import get_rekordbox_pid

    pid = get_rekordbox_pid()
    if pid:
        raise WritebackError(db, f"rekordbox is running (pid {pid}); quit rekordbox before writing its database")


def backup_files(db: Path) -> tuple[str, ...]:
    """Copy ``master.db`` and any side files to ``<name>.djstruct-YYYYmmdd-HHMMSS.bak`` (fsync'ed)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tag, n = stamp, 1
    while db.with_name(f"{db.name}.djstruct-{tag}.bak").exists():
        n += 1
        tag = f"{stamp}-{n}"
    out = []
    for suffix in ("", *SIDE_FILES):
        src = db.with_name(db.name + suffix)
        if src.exists():
            dst = src.with_name(f"{src.name}.djstruct-{tag}.bak")
            try:
                shutil.copy2(src, dst)
                with open(dst, "rb+") as f:
                    os.fsync(f.fileno())
            except OSError as exc:
                raise WritebackError(db, f"cannot back up {src.name}: {exc.strerror or exc}; "
                                         "nothing was written") from exc
            out.append(str(dst))
    return tuple(out)
