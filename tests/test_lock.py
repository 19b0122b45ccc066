"""RunLock: one run at a time, released on exit or death of the holder."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from djstruct.errors import LockError
from djstruct.lock import RunLock, lock_path_for

CTX = mp.get_context("spawn" if sys.platform == "win32" else "fork")


def _hold(path: str, acquired: Event, release: Event) -> None:
    with RunLock(Path(path)):
        acquired.set()
        release.wait(30)


def _start_holder(path: Path) -> tuple[BaseProcess, Event]:
    acquired, release = CTX.Event(), CTX.Event()
    child = CTX.Process(target=_hold, args=(str(path), acquired, release))
    child.start()
    assert acquired.wait(30), "child did not take the lock"
    return child, release


def test_lock_path_is_beside_the_store(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "store.sqlite") == tmp_path / "store.sqlite.lock"
    assert RunLock.for_store(tmp_path / "store.sqlite").path == tmp_path / "store.sqlite.lock"


def test_second_process_is_refused_until_release(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.sqlite.lock"
    child, release = _start_holder(path)
    try:
        with pytest.raises(LockError) as ei:
            with RunLock(path):
                pass
        msg = str(ei.value)
        assert f"pid {child.pid}" in msg and str(path) in msg and "another djstruct run" in msg
        assert "\n" not in msg
    finally:
        release.set()
        child.join(30)
    assert child.exitcode == 0
    with RunLock(path) as lock:
        assert lock.held
        assert path.read_text().split("\n")[0] == str(os.getpid())
    assert not lock.held


def test_same_process_second_lock_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with RunLock(path):
        with pytest.raises(LockError):
            RunLock(path).acquire()
    with RunLock(path):  # released on exit
        pass


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_lock_of_a_killed_holder_is_free(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite.lock"
    child, _release = _start_holder(path)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert path.exists() and path.read_text().startswith(str(child.pid))  # stale file left behind
    with RunLock(path):
        assert path.read_text().startswith(str(os.getpid()))


def test_stale_lock_file_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite.lock"
    path.write_text("999999\n2001-01-01 00:00:00\n")
    lock = RunLock(path)
    lock.acquire()
    try:
        assert lock.held
    finally:
        lock.release()
        lock.release()  # idempotent
