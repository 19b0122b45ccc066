"""Rewrite a user's file so that a crash, a full disk or an error never leaves it half-written.

:func:`atomic_rewrite` copies the file to a temporary sibling (same folder, so same file system),
lets a callback edit the copy in place (e.g. with mutagen), flushes it to disk, gives it the
original's permission bits (and owner when running as root) and moves it over the original with
``os.replace``, then flushes the folder entry. The original is either fully old or fully new.

Side effects worth knowing: the file gets a new inode, so other hard links to it keep the old
content, and a symbolic link is followed (the link stays, its target is rewritten).
"""

from __future__ import annotations

import errno
import glob
import hashlib
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from djstruct.errors import DjstructError, WritebackError

logger = logging.getLogger(__name__)

TMP_PREFIX = ".djstruct-"
TMP_SUFFIX = ".tmp"
_CHUNK = 1 << 20
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def file_sha256(path: Path) -> str:
    """Hex sha256 of the whole file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, fill: Callable[[Path], None], *, mode: int | None = None, suffix: str = "",
                 verify: Callable[[Path], None] | None = None,
                 error: type[DjstructError] = WritebackError) -> None:
    """Write a file atomically: ``fill(tmp)`` writes a temporary sibling of ``path`` (named by
    :func:`temp_path_for`, ending in ``suffix`` for writers that go by the extension), which is
    flushed to disk, given ``mode`` (default: the existing file's permission bits), checked by
    ``verify(tmp)`` when given, and renamed over ``path``; then the folder entry is flushed.

    On any failure the temporary file is removed and ``path`` is untouched. djstruct errors pass
    through; OS errors become ``error(path, reason)`` (a full disk says so); others are re-raised.
    """
    path = Path(path)
    if path.is_dir():
        raise error(path, "is a folder, not a file")
    if mode is None and path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
    tmp = temp_path_for(path, suffix)
    try:
        fill(tmp)
        _fsync_path(tmp, os.O_RDONLY)
        if mode is not None:
            os.chmod(tmp, mode)
        if verify is not None:
            verify(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, DjstructError) or not isinstance(exc, OSError):
            raise
        reason = "disk full: nothing was written" if _disk_full(exc) else f"cannot write: {exc.strerror or exc}"
        raise error(path, reason) from exc
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None,
                       error: type[DjstructError] = WritebackError) -> None:
    """:func:`atomic_write` of ``data``."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data), mode=mode, error=error)


def atomic_write_text(path: Path, text: str, *, mode: int | None = None,
                      error: type[DjstructError] = WritebackError) -> None:
    """:func:`atomic_write` of ``text`` as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, error=error)


def temp_path_for(path: Path, suffix: str = "") -> Path:
    """A fresh temporary name next to ``path``: ``.djstruct-<name>.<random>.tmp<suffix>``."""
    return path.with_name(f"{TMP_PREFIX}{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}{suffix}")


def stale_temps(path: Path) -> list[Path]:
    """djstruct's own temporary files next to ``path`` (named by :func:`temp_path_for`): what a run
    killed in the middle of a write leaves behind. Nothing else matches."""
    path = Path(path)
    pattern = re.compile(re.escape(TMP_PREFIX + path.name) + r"\.[0-9a-f]{8}" + re.escape(TMP_SUFFIX)
                         + r"(?:\.[A-Za-z0-9]{1,5})?")
    try:
        names = list(path.parent.glob(glob.escape(TMP_PREFIX + path.name) + ".*" + TMP_SUFFIX + "*"))
    except OSError:
        return []
    return [p for p in names if pattern.fullmatch(p.name) and p.is_file() and not p.is_symlink()]


def remove_stale_temps(path: Path) -> int:
    """Remove :func:`stale_temps` of ``path`` (and of the file a symbolic link points to); how many
    went. Call it only under the store's run lock, on a file the run is about to touch."""
    path = Path(path)
    targets = {path, path.resolve()} if path.is_symlink() else {path}
    n = 0
    for target in targets:
        for tmp in stale_temps(target):
            try:
                tmp.unlink()
                n += 1
                logger.info("removed %s, left by an interrupted djstruct run", tmp)
            except OSError as exc:
                logger.warning("could not remove %s (left by an interrupted djstruct run): %s", tmp, exc)
    return n


def check_writable(path: Path) -> os.stat_result:
    """Stat ``path`` and refuse (WritebackError) what cannot be rewritten in place: a missing or
    special file, a file without write permission (checked on the mode bits too, so a read-only
    file stays read-only even for root) or a folder where no temporary file can be created."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise WritebackError(path, "file does not exist") from None
    except OSError as exc:
        raise WritebackError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise WritebackError(path, "not a regular file")
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise WritebackError(path, "file is read-only")
    folder = path.parent
    try:
        folder_mode = os.stat(folder).st_mode
    except OSError as exc:
        raise WritebackError(path, f"cannot read its folder: {exc.strerror or exc}") from exc
    if not folder_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        raise WritebackError(path, f"folder {folder} is read-only (a temporary file is written next to the file)")
    return st


def _disk_full(exc: BaseException) -> bool:
    """True when ``exc`` or anything it wraps (cause, context, args) is ENOSPC/EDQUOT."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return True
        todo += [x for x in (e.__cause__, e.__context__, *e.args) if isinstance(x, BaseException)]
    return False


def _copy_contents(src: BinaryIO, dst: BinaryIO) -> None:
    shutil.copyfileobj(src, dst, _CHUNK)


def _copy_xattrs(src: Path, dst: Path) -> None:
    """Best effort: extended attributes (Finder tags, ...) follow the file where the OS has them."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError as exc:
            logger.debug("%s: extended attribute %s not copied: %s", src, name, exc)


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        _fsync_path(folder, os.O_RDONLY)
    except OSError as exc:  # not supported everywhere (Windows, some network file systems)
        logger.debug("cannot fsync folder %s: %s", folder, exc)


def _copy_owner_and_mode(st: os.stat_result, tmp: Path) -> None:
    if hasattr(os, "chown"):
        try:
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
            elif st.st_gid != os.stat(tmp).st_gid:
                os.chown(tmp, -1, st.st_gid)  # allowed when we belong to the group
        except OSError as exc:
            logger.debug("%s: owner not copied: %s", tmp, exc)
    os.chmod(tmp, stat.S_IMODE(st.st_mode))


def atomic_rewrite(path: Path, mutate: Callable[[Path], None]) -> None:
    """Apply ``mutate`` to a copy of ``path`` and swap the copy in atomically.

    ``mutate(tmp)`` edits the temporary copy in place (it may raise to abort). On any exception the
    temporary file is removed and the original is left untouched; OS and disk-full errors become
    :class:`WritebackError`, djstruct errors pass through, anything else is re-raised as is.

    Raises:
        WritebackError: read-only file or folder (before anything is written), disk full, the
            file changed on disk while it was being rewritten, or any other OS error.
    """
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    st = check_writable(target)
    free = _free_bytes(target.parent)
    if free is not None and free < st.st_size + _CHUNK:
        raise WritebackError(path, f"not enough free disk space to rewrite it ({free} bytes free)")
    tmp = temp_path_for(target)
    created = False
    try:
        with open(target, "rb") as src:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
            with os.fdopen(fd, "wb") as dst:
                _copy_contents(src, dst)
        mutate(tmp)
        _fsync_path(tmp, os.O_RDWR)
        _copy_xattrs(target, tmp)
        _copy_owner_and_mode(st, tmp)
        now = os.stat(target)
        if (now.st_size, now.st_mtime_ns, now.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
            raise WritebackError(path, "file changed on disk while it was being rewritten; try again")
        os.replace(tmp, target)
    except BaseException as exc:
        if created:
            _remove(tmp)
        if isinstance(exc, DjstructError) or not isinstance(exc, Exception):
            raise
        if _disk_full(exc):
            raise WritebackError(path, "disk full: file left unchanged") from exc
        if isinstance(exc, OSError) or type(exc).__module__.startswith("mutagen"):
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise WritebackError(path, f"cannot rewrite file: {reason}") from exc
        raise
    _fsync_dir(target.parent)
    if st.st_nlink > 1:
        logger.warning("%s: had %d hard links; only this name sees the new content", path, st.st_nlink)
    logger.debug("rewrote %s atomically", path)


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not remove temporary file %s: %s", tmp, exc)
