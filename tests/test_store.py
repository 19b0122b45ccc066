"""The analysis store: round trips, incremental decisions, schema versions, crash safety, status."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from djstruct.audio.fingerprint import fingerprint, quick_stat
from djstruct.config import store_path as default_store_path
from djstruct.errors import StoreError
from djstruct.store import Store
from djstruct.store import store as store_mod
from djstruct.types import Analysis, Energy, Section, Track

DET, VER = "dsp", "1.0"


def make_analysis(path: str = "/music/a.mp3", bpm: float = 128.0) -> Analysis:
    return Analysis(
        path=path,
        duration_s=240.5,
        bpm=bpm,
        beats=(0.12, 0.589, 1.058, 1.527),
        downbeats=(0.12,),
        sections=(Section(0.12, 30.12, "intro"), Section(30.12, 60.12, "drop")),
        drops=(30.12,),
        energy=Energy(hop_s=0.5, bass=np.array([0.1, 0.9, 0.5]), mid=np.array([0.2, 0.3, 0.4]),
                      high=np.array([0.0, 1.0, 0.25])),
        detector=DET,
        confidence=0.875,
    )


def write_wav(path: Path, seed: int, seconds: float = 1.0) -> Path:
    rng = np.random.default_rng(seed)
    sf.write(path, (rng.standard_normal((int(44100 * seconds), 2)) * 0.2).astype(np.float32), 44100)
    return path


def retag_wav(path: Path) -> None:
    from mutagen.id3 import TIT2
    from mutagen.wave import WAVE

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))
    f = WAVE(path)
    if f.tags is None:
        f.add_tags()
    f.tags.add(TIT2(encoding=3, text=["x" * 5000]))
    f.save()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "db" / "store.sqlite") as s:
        yield s


def test_default_path_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DJSTRUCT_STORE", str(tmp_path / "x.sqlite"))
    assert default_store_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("DJSTRUCT_STORE")
    assert default_store_path().name == "store.sqlite"


def test_open_sets_wal_and_schema(tmp_path: Path, store: Store) -> None:
    assert store.path.parent.is_dir()
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == len(store_mod.MIGRATIONS) == 2


def test_analysis_round_trip(tmp_path: Path, store: Store) -> None:
    p = write_wav(tmp_path / "a.wav", 0)
    a = make_analysis(str(p))
    fp = fingerprint(p)
    store.put_analysis(p, a, DET, VER, fp)
    b = store.get_analysis(p)
    assert b is not None
    assert b.to_dict() == a.to_dict()
    assert b.energy is not None and np.allclose(b.energy.bass, a.energy.bass)
    row = store.get_row(p)
    assert row is not None and row.has_analysis and row.error is None
    assert (row.size, row.mtime_ns, row.audio_hash) == (fp.size, fp.mtime_ns, fp.audio_hash)
    assert (row.detector, row.detector_version) == (DET, VER)
    assert store.get_analysis(tmp_path / "other.wav") is None and store.get_row(tmp_path / "other.wav") is None


def test_needs_analysis_decisions(tmp_path: Path, store: Store) -> None:
    p = write_wav(tmp_path / "a.wav", 0)
    assert store.needs_analysis(p, DET, VER)  # new
    store.put_analysis(p, make_analysis(str(p)), DET, VER, fingerprint(p))
    assert not store.needs_analysis(p, DET, VER)  # unchanged
    assert not store.needs_analysis(p, DET, VER, stat=quick_stat(p))
    assert store.needs_analysis(p, DET, VER, force=True)
    assert store.needs_analysis(p, DET, "1.1")  # detector version bump
    assert store.needs_analysis(p, "ml", VER)  # other detector

    old = store.get_row(p)
    retag_wav(p)  # mtime + size change, audio does not
    assert quick_stat(p) != (old.size, old.mtime_ns)
    assert not store.needs_analysis(p, DET, VER)
    row = store.get_row(p)
    assert (row.size, row.mtime_ns) == quick_stat(p)  # updated in place
    assert row.audio_hash == old.audio_hash and row.analyzed_at == old.analyzed_at

    write_wav(p, seed=1)  # replaced audio
    retag_wav(p)
    assert store.needs_analysis(p, DET, VER)

    q = write_wav(tmp_path / "b.wav", 2)
    store.put_analysis(q, make_analysis(str(q)), DET, VER, fingerprint(q))
    store.put_error(q, "decode failed:\n bad frame", fingerprint(q))
    assert store.needs_analysis(q, DET, VER)  # previous error
    row = store.get_row(q)
    assert row.error == "decode failed: bad frame" and row.has_analysis  # same audio: old analysis kept
    store.put_analysis(q, make_analysis(str(q)), DET, VER, fingerprint(q))
    assert store.get_row(q).error is None and not store.needs_analysis(q, DET, VER)

    q.unlink()
    assert store.needs_analysis(q, DET, VER)  # missing


def test_put_error_for_new_file_and_changed_audio(tmp_path: Path, store: Store) -> None:
    store.put_error(tmp_path / "gone.mp3", "file not found", None)
    assert store.get_row(tmp_path / "gone.mp3").error == "file not found"
    p = write_wav(tmp_path / "a.wav", 0)
    store.put_analysis(p, make_analysis(str(p)), DET, VER, fingerprint(p))
    write_wav(p, seed=5)
    store.put_error(p, "boom", fingerprint(p))
    assert store.get_analysis(p) is None  # the old analysis described other audio


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store.open(path).close()
    with sqlite3.connect(path) as c:
        c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer") as ei:
        Store.open(path)
    assert str(path) in str(ei.value) and "\n" not in str(ei.value)


def test_appending_a_migration_upgrades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite"
    with Store.open(path) as s:
        p = write_wav(tmp_path / "a.wav", 0)
        s.put_analysis(p, make_analysis(), DET, VER, fingerprint(p))

    def next_version(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE files ADD COLUMN loudness_lufs REAL")

    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, next_version])
    with Store.open(path) as s:
        assert s.schema_version == len(store_mod.MIGRATIONS)
        cols = {r[1] for r in s._db.execute("PRAGMA table_info(files)")}
        assert "loudness_lufs" in cols
        assert s.get_analysis(p) is not None


@pytest.mark.parametrize("content", [b"this is not a database at all" * 40,
                                     b"SQLite format 3\x00" + os.urandom(4000)], ids=["text", "garbage"])
def test_corrupt_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError) as ei:
        Store.open(path)
    msg = str(ei.value)
    assert str(path) in msg and "\n" not in msg


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE songs (x)")
    with pytest.raises(StoreError, match="not an analysis store"):
        Store.open(path)


def _child_writer(store_path: str, log_path: str) -> None:
    with Store.open(Path(store_path)) as s, open(log_path, "a") as log:
        i = 0
        while True:
            p = f"/music/track{i:05d}.mp3"
            fp = fingerprint(Path(store_path), with_hash=False)
            s.put_analysis(Path(p), make_analysis(p, bpm=100 + i % 50), DET, VER, fp)
            log.write(f"{i}\n")
            log.flush()
            i += 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_run_keeps_committed_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    log = tmp_path / "committed.txt"
    Store.open(path).close()
    child = mp.get_context("fork").Process(target=_child_writer, args=(str(path), str(log)))
    child.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("\n") >= 200:
            break
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    committed = [int(x) for x in log.read_text().split("\n")[:-1]]  # the last line may be cut short
    assert len(committed) >= 200

    with Store.open(path) as s:
        assert s._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = s._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        assert n >= len(committed)
        for i in committed:
            a = s.get_analysis(Path(f"/music/track{i:05d}.mp3"))
            assert a is not None and a.bpm == 100 + i % 50
        q = write_wav(tmp_path / "after.wav", 0)
        s.put_analysis(q, make_analysis(), DET, VER, fingerprint(q))  # still writable


def test_libraries_tracks_and_status(tmp_path: Path, store: Store) -> None:
    files = {name: write_wav(tmp_path / f"{name}.wav", i, seconds=0.2)
             for i, name in enumerate(["ok", "changed", "gone", "failed", "pending", "oldver"])}
    for name in ("ok", "changed", "gone", "oldver"):
        p = files[name]
        store.put_analysis(p, make_analysis(str(p)), DET, "0.9" if name == "oldver" else VER, fingerprint(p))
    store.put_error(files["failed"], "cannot decode", fingerprint(files["failed"]))
    write_wav(files["changed"], seed=99, seconds=0.3)
    files["gone"].unlink()

    lib = "folder:" + str(tmp_path)
    tracks = [Track(id=name, path=p, source="folder", title=name) for name, p in files.items()]
    assert store.upsert_tracks(lib, tracks) == 6
    store.upsert_tracks("rekordbox-xml:/x.xml", [Track(id="7", path=files["ok"], source="rekordbox-xml")])
    assert store.libraries() == sorted([lib, "rekordbox-xml:/x.xml"])
    got = store.tracks(lib)
    assert {t["id"] for t in got} == set(files) and all(t["library"] == lib for t in got)
    assert got[0]["source"] == "folder" and "exists" not in got[0]
    assert len(store.tracks()) == 7

    st = store.status(DET, VER)
    by = {s.library: s for s in st.libraries}
    f = by[lib]
    assert (f.tracks, f.analysed, f.stale, f.failed, f.pending, f.missing) == (6, 1, 3, 1, 1, 1)
    assert (by["rekordbox-xml:/x.xml"].tracks, by["rekordbox-xml:/x.xml"].analysed) == (1, 1)
    assert (st.total.tracks, st.total.analysed) == (6, 1)  # distinct files
    assert store.status().libraries[0].stale == 2  # without a detector version, "oldver" is current

    store.upsert_tracks(lib, tracks[:2], replace=True)
    assert len(store.tracks(lib)) == 2


def test_recheck_of_2000_unchanged_tracks_is_fast(tmp_path: Path, store: Store) -> None:
    music = tmp_path / "music"
    music.mkdir()
    paths = []
    for i in range(2000):
        p = music / f"t{i:04d}.mp3"
        p.write_bytes(i.to_bytes(4, "little") * 64)
        paths.append(p)
    a = make_analysis()
    t0 = time.perf_counter()
    for p in paths:
        store.put_analysis(p, a, DET, VER, fingerprint(p))
    t_put = time.perf_counter() - t0
    store.upsert_tracks("folder:" + str(music), [Track(id=p.name, path=p, source="folder") for p in paths])

    t0 = time.perf_counter()
    redo = [p for p in paths if store.needs_analysis(p, DET, VER, stat=quick_stat(p))]
    t_check = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = store.status(DET, VER)
    t_status = time.perf_counter() - t0
    assert redo == [] and st.total.analysed == 2000
    print(f"\n2000 tracks: put_analysis {t_put:.3f} s, stat + needs_analysis {t_check:.3f} s, status {t_status:.3f} s")
