"""One djstruct run at a time per store: an exclusive, non-blocking OS lock on a file beside it.

The lock is ``flock`` on POSIX and ``msvcrt.locking`` on Windows; the kernel drops it when the holder
exits, however it dies, so a lock file left behind by a killed run never blocks the next one (only the
lock matters, not whether the file exists). The holder writes its pid and start time into the file so
that a refused run can say who holds it.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from djstruct.errors import LockError, StoreError
from djstruct.store.diagnose import problem

log = logging.getLogger(__name__)

_WIN_LOCK_OFFSET = 1 << 20  # Windows locks are mandatory: lock a byte past the pid text so others can read it


def lock_path_for(store_path: Path) -> Path:
    """The lock file of a store: ``store.sqlite`` -> ``store.sqlite.lock`` in the same folder."""
    return store_path.with_name(store_path.name + ".lock")


class RunLock:
    """Exclusive lock held for the duration of a ``with`` block (or between :meth:`acquire` and
    :meth:`release`). Raises LockError at once if another process holds it.

    The lock belongs to the open file, so a child forked while it is held keeps it held until the
    child exits too.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @classmethod
    def for_store(cls, store_path: Path) -> RunLock:
        return cls(lock_path_for(store_path))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise LockError naming the lock file and the holder's pid."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:  # not "another run holds it" (exit 3): a read-only or full disk (exit 1)
            raise StoreError(self.path, f"cannot create the lock file: {problem(self.path, e)}") from e
        try:
            _lock(fd)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockError(self.path, f"another djstruct run ({holder}) holds this lock; wait for it to finish "
                                       "or stop it") from None
        except OSError as e:
            os.close(fd)
            raise LockError(self.path, f"cannot lock: {e.strerror or e}") from e
        self._fd = fd
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n{started}\n".encode())
        except OSError as e:  # the lock is what counts; the note is a courtesy
            log.debug("%s: cannot write holder info: %s", self.path, e)
        log.debug("%s: acquired by pid %d", self.path, os.getpid())

    def release(self) -> None:
        """Drop the lock (idempotent). The file stays: deleting it would race with a waiting run."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """``"pid N, started T"`` from the lock file, as far as it can be read."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        lines = os.read(fd, 200).decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    pid = lines[0].strip() if lines and lines[0].strip().isdigit() else "unknown"
    started = lines[1].strip() if len(lines) > 1 else "unknown time"
    return f"pid {pid}, started {started}"


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EDEADLOCK):  # someone else holds it
                raise BlockingIOError(str(e)) from e
            raise

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
