"""A store on a read-only, full or damaged disk (issue 15, cases 7, 10, 15, 17): one error line that
says what is wrong, never advice that throws away an undo journal, exit 1 (3 is only for the lock),
and a corrupt analysis treated as missing."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from hardening_lib import DETECTOR, VERSION, assert_clean, invoke, make_library

from djstruct.errors import StoreError
from djstruct.store import Store

BAD_ADVICE = ("move it away", "afresh", "delete", "remove it")


def _no_bad_advice(text: str) -> None:
    low = text.lower()
    assert not any(a in low for a in BAD_ADVICE), text


def _commands(lib: Path, store: Path, tmp: Path) -> list[list[object]]:
    return [["status", "--store", store], ["writeback", lib, "--store", store, "--dry-run"],
            ["undo", "--list", "--store", store], ["undo", "--store", store],
            ["report", lib, "--store", store, "--out", tmp / "report"],
            ["scan", lib, "--store", store, "--detector", "dsp", "--workers", "1"]]


@pytest.fixture()
def lib(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    return make_library(tmp_path, n=2)


def _read_only_below(monkeypatch: pytest.MonkeyPatch, top: Path) -> None:
    """Make everything below ``top`` behave as on a read-only file system (EROFS) for the calls the
    store and the lock make: mkdir, os.open for writing, sqlite3.connect and statvfs."""
    real_mkdir, real_open, real_connect, real_statvfs = Path.mkdir, os.open, sqlite3.connect, os.statvfs

    def below(p: object) -> bool:
        text = str(p).removeprefix("file:").split("?")[0]
        return isinstance(p, str | Path) and Path(os.path.abspath(text)).is_relative_to(top)

    def mkdir(self: Path, *a: object, **k: object) -> None:
        if below(self) and not self.exists():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *a, **k)  # type: ignore[arg-type]

    def os_open(p: object, flags: int, *a: object, **k: object) -> int:
        if below(p) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(p))
        return real_open(p, flags, *a, **k)  # type: ignore[arg-type]

    def connect(p: object, *a: object, **k: object) -> sqlite3.Connection:
        if below(p) and "mode=ro" not in str(p) and "immutable=1" not in str(p):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(p, *a, **k)  # type: ignore[arg-type]

    class _Ro:
        def __init__(self, st: os.statvfs_result) -> None:
            self._st = st

        def __getattr__(self, name: str) -> object:
            return getattr(self._st, name)

        @property
        def f_flag(self) -> int:
            return self._st.f_flag | os.ST_RDONLY

    def statvfs(p: object) -> object:
        st = real_statvfs(p)  # type: ignore[arg-type]
        return _Ro(st) if below(p) else st

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(sqlite3, "connect", connect)
    monkeypatch.setattr(os, "statvfs", statvfs)


def test_scan_into_a_missing_folder_on_a_read_only_file_system(lib: tuple[Path, Path, list[Path]], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 7: OSError (EROFS) -> one line naming the store, exit 1."""
    music, _, _ = lib
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only_below(monkeypatch, ro)
    target = ro / "new" / "store.sqlite"
    r = invoke("scan", music, "--store", target, "--detector", "dsp", "--workers", "1")
    assert_clean(r, 1)
    assert "read-only" in r.output.lower() and str(ro / "new") in r.output
    _no_bad_advice(r.output)


def test_read_only_store_is_exit_1_and_says_read_only(lib: tuple[Path, Path, list[Path]], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 15: a store on a read-only path exited 3 (the lock's code) or advised moving it away;
    now: the commands that only read (status, undo --list, a dry run, the report) work, the others
    say "read-only" and exit 1."""
    music, store, _ = lib
    _read_only_below(monkeypatch, store.parent)
    _split_read_and_write(music, store, tmp_path.parent / (tmp_path.name + "-out"), "read-only")
    r = invoke("report", music, "--store", store, "--out", store.parent / "report")  # and a read-only --out
    assert_clean(r, 1)
    assert "read-only" in r.output.lower()


def _split_read_and_write(music: Path, store: Path, tmp_path: Path, what: str) -> None:
    """Commands that only read the store work; the others exit 1 saying ``what`` is wrong."""
    for args in _commands(music, store, tmp_path / "out"):
        r = invoke(*args)
        assert_clean(r)
        assert r.exit_code != 3, (args[:2], r.output)
        _no_bad_advice(r.output)
        if args[0] in ("status", "report") or args[1] == "--list":
            assert r.exit_code == 0, (args[:2], r.output)
        else:
            assert r.exit_code == 1 and what in r.output.lower(), (args[:2], r.output)


def test_full_disk_says_full_and_keeps_the_store(lib: tuple[Path, Path, list[Path]], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 15: "disk I/O error; move it away to start afresh" on a full disk -> "disk is full"."""
    music, store, _ = lib
    real_connect = sqlite3.connect

    class FullConnection:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn

        def execute(self, sql: str, *a: object) -> object:
            if sql.startswith("PRAGMA journal_mode"):
                raise sqlite3.OperationalError("disk I/O error")
            return self._conn.execute(sql, *a)

        def __getattr__(self, name: str) -> object:
            return getattr(self._conn, name)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: FullConnection(real_connect(*a, **k)))
    monkeypatch.setattr(shutil, "disk_usage", lambda p: _Usage(0))
    _split_read_and_write(music, store, tmp_path, "full")


class _Usage:
    def __init__(self, free: int) -> None:
        self.total, self.used, self.free = 10**9, 10**9 - free, free


def test_write_failure_on_a_full_disk_says_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite"
    with Store.open(path) as st:
        monkeypatch.setattr(shutil, "disk_usage", lambda p: _Usage(1000))
        with pytest.raises(StoreError) as ei, st.transaction():
            raise sqlite3.OperationalError("database or disk is full")
    msg = str(ei.value)
    assert "full" in msg and str(path) in msg and "\n" not in msg
    _no_bad_advice(msg)


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + os.urandom(4000), b"garbage" * 100])
def test_damaged_store_says_damaged_and_to_keep_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(content)
    for args in (["status", "--store", path], ["undo", "--store", path]):
        r = invoke(*args)
        assert_clean(r, 1)
        assert str(path) in r.output
        _no_bad_advice(r.output)


@pytest.mark.parametrize("version", ["two", "", "2.5", "-1"])
def test_non_numeric_schema_version(version: str, lib: tuple[Path, Path, list[Path]], tmp_path: Path) -> None:
    """Case 10: ValueError in every command -> one line: the meta table is damaged."""
    music, store, _ = lib
    with sqlite3.connect(store) as c:
        c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    with pytest.raises(StoreError, match="schema version"):
        Store.open(store)
    for args in _commands(music, store, tmp_path / "out"):
        r = invoke(*args)
        assert_clean(r, 1)
        assert "schema version" in r.output and str(store) in r.output
        _no_bad_advice(r.output)


def test_corrupt_analysis_blob_is_missing_and_scan_repairs_it(lib: tuple[Path, Path, list[Path]],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """Case 17: one corrupt blob stopped the whole dry-run and scan never repaired it."""
    music, store, files = lib
    with sqlite3.connect(store) as c:
        c.execute("UPDATE files SET analysis = ? WHERE path = ?", (b"\x78\x9c garbage", str(files[0])))
    with Store.open(store) as st:
        assert st.needs_analysis(files[0], DETECTOR, VERSION)  # scan analyses it again
        assert not st.needs_analysis(files[1], DETECTOR, VERSION)
    r = invoke("writeback", music, "--store", store, "--dry-run")
    assert_clean(r, 0)
    assert "would write 1 of 2" in r.output and "not analysed" in r.output
    assert files[0].name in r.output and "unreadable" in r.output  # it says so
    with Store.open(store) as st:
        assert st.get_analysis(files[0]) is None and st.get_analysis(files[1]) is not None
        assert st.needs_analysis(files[0], DETECTOR, VERSION)
