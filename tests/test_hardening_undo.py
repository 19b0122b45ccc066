"""undo after crashes and damage (issue 15, cases 1, 8, 9, 14, 16, 19): nothing the DJ did since is
overwritten, one bad entry never stops the others, the exit code and the run's state tell the truth,
and djstruct's own temporary files do not stay behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hardening_lib import assert_clean, invoke, make_library, rekordbox_xml, sha

import djstruct.writeback.apply as apply_mod
from djstruct.audio.fingerprint import fingerprint
from djstruct.errors import WritebackError
from djstruct.safe_write import TMP_PREFIX, TMP_SUFFIX
from djstruct.store import Store
from djstruct.writeback.journal import Journal


def _crash_after_replace(monkeypatch: pytest.MonkeyPatch, at: int = 1) -> None:
    """Kill the run (KeyboardInterrupt) between replacing file number ``at`` and journaling it."""
    real = Journal.mark_written
    calls = {"n": 0}

    def mark_written(self: Journal, entry_id: int, after: str) -> None:
        calls["n"] += 1
        if calls["n"] == at:
            raise KeyboardInterrupt
        real(self, entry_id, after)

    monkeypatch.setattr(Journal, "mark_written", mark_written)


def _crash_before_write(monkeypatch: pytest.MonkeyPatch, at: int = 1) -> None:
    """Kill the run just before file number ``at`` is written (its entry is already pending)."""
    real = apply_mod.write_hot_cues
    calls = {"n": 0}

    def write(path, cues, state=None):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == at:
            raise KeyboardInterrupt
        return real(path, cues, state)

    monkeypatch.setattr(apply_mod, "write_hot_cues", write)


def _dj_edits_title(path: Path, title: str) -> None:
    import mutagen
    from mutagen.id3 import ID3, TIT2

    f = mutagen.File(path)
    if isinstance(f.tags, ID3):  # MP3, WAV, AIFF
        f.tags.add(TIT2(encoding=3, text=title))
    else:
        f = mutagen.File(path, easy=True)
        f["title"] = title
    f.save()


def _states(store: Path, run: int = 1) -> tuple[str, list[str]]:
    with Store.open(store) as st:
        j = Journal(st)
        info = j.run(run)
        assert info is not None
        return info.status, [e.state for e in j.entries(run)]


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a", "ogg", "wav", "aiff"])
def test_pending_entry_refuses_a_later_edit(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 1: killed between replacing the file and journaling it, then the DJ gives the file a
    new title: undo must refuse it (the title stays) and --force restores the original."""
    lib, store, files = make_library(tmp_path, n=1, fmt=fmt)
    original = sha(files[0])
    with monkeypatch.context() as m:
        _crash_after_replace(m)
        r = invoke("writeback", lib, "--store", store)
        assert r.exit_code != 0 and sha(files[0]) != original  # written, journal still says pending
    _dj_edits_title(files[0], "DJ's new title")
    edited = sha(files[0])
    r = invoke("undo", "--store", store)
    assert_clean(r, 1)
    assert "changed since djstruct wrote it" in r.output and "--force" in r.output
    assert sha(files[0]) == edited
    assert _states(store)[0] != "undone"
    r = invoke("undo", "--store", store, "--force")
    assert_clean(r, 0)
    assert sha(files[0]) != edited  # the DJ asked for it


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a", "ogg"])
def test_pending_entry_left_as_djstruct_wrote_it_is_restored(fmt: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 1, the other side: the same crash without a later edit restores without --force (the
    interrupted write is replayed on a copy to know what djstruct left)."""
    lib, store, files = make_library(tmp_path, n=2, fmt=fmt)
    originals = [sha(p) for p in files]
    with monkeypatch.context() as m:
        _crash_after_replace(m, at=2)
        invoke("writeback", lib, "--store", store)
    assert [sha(p) != o for p, o in zip(files, originals, strict=True)] == [True, True]
    r = invoke("undo", "--store", store)
    assert_clean(r, 0)
    assert [sha(p) for p in files] == originals


def test_pending_xml_entry_uses_the_hash_recorded_before_the_rename(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lib, store, files = make_library(tmp_path, n=2)
    xml = rekordbox_xml(tmp_path / "rb.xml", files)
    out = tmp_path / "import.xml"
    with monkeypatch.context() as m:
        _crash_after_replace(m)
        invoke("writeback", "--rekordbox-xml", xml, "--store", store, "--out", out)
    assert out.exists()
    out.write_text(out.read_text(encoding="utf-8") + "<!-- the DJ's note -->\n", encoding="utf-8")
    r = invoke("undo", "--store", store)
    assert_clean(r, 1)
    assert "changed since djstruct wrote it" in r.output and out.exists()
    r = invoke("undo", "--store", store, "--force")
    assert_clean(r, 0)
    assert not out.exists()


@pytest.mark.parametrize("backup", ["{broken", "", "{}", '{"frame": 3}', "null", "[1, 2]"])
def test_damaged_backup_row_is_reported_and_the_rest_restored(backup: str, tmp_path: Path) -> None:
    """Cases 8 and 16: a corrupted or emptied backup row no longer kills undo and undo --list; the
    file is named, the others are restored, exit 1, the run stays open."""
    lib, store, files = make_library(tmp_path)
    originals = {p: sha(p) for p in files}
    assert_clean(invoke("writeback", lib, "--store", store), 0)
    with sqlite3.connect(store) as c:
        bad_path = c.execute("SELECT path FROM journal WHERE id = 2").fetchone()[0]
        c.execute("UPDATE journal SET backup = ? WHERE id = 2", (backup,))
    assert_clean(invoke("undo", "--list", "--store", store), 0)
    r = invoke("undo", "--store", store)
    assert_clean(r, 1)
    assert bad_path in r.output and "backup" in r.output and "restored 2 files, 1 refused" in r.output
    assert all(sha(p) == originals[p] for p in files if str(p) != bad_path)
    assert sha(Path(bad_path)) != originals[Path(bad_path)]
    assert _states(store) == ("done", ["undone", "written", "undone"])


def test_journal_rows_gone(tmp_path: Path) -> None:
    """Case 16: "restored 0 files", exit 0 and the run marked undone while 3 files stayed modified.
    Now: exit 1, says so, the run stays open, and a plain `undo` does not undo an older run instead."""
    lib, store, files = make_library(tmp_path)
    lib2, _, _ = make_library(tmp_path / "more")  # same file names in another folder, same store
    with Store.open(store) as st, Store.open(tmp_path / "more" / "store.sqlite") as other:
        for p in sorted(lib2.iterdir()):
            row = other.get_row(p)
            analysis = other.get_analysis(p)
            assert row is not None and analysis is not None
            st.put_analysis(p, analysis, row.detector or "", row.detector_version or "", fingerprint(p))
    assert_clean(invoke("writeback", lib, "--store", store), 0)
    assert_clean(invoke("writeback", lib2, "--store", store), 0)
    with sqlite3.connect(store) as c:
        c.execute("DELETE FROM journal WHERE run_id = 2")
    for args in (["undo", "2", "--store", store], ["undo", "--store", store]):
        r = invoke(*args)
        assert_clean(r, 1)
        assert "run 2 wrote 3 file(s)" in r.output and "no backup" in r.output
    assert _states(store, 2)[0] == "done" and _states(store, 1)[0] == "done"


def test_emptied_backups_name_every_file(tmp_path: Path) -> None:
    lib, store, files = make_library(tmp_path)
    assert_clean(invoke("writeback", lib, "--store", store), 0)
    with sqlite3.connect(store) as c:
        c.execute("UPDATE journal SET backup = ''")
    r = invoke("undo", "1", "--store", store)
    assert_clean(r, 1)
    assert all(str(p) in r.output for p in files) and "restored 0 files, 3 refused" in r.output
    assert _states(store)[0] == "done"


@pytest.mark.parametrize("force", [False, True])
def test_deleted_file_does_not_stop_the_others(force: bool, tmp_path: Path) -> None:
    """Case 9: FileNotFoundError before restoring the others, on every retry, --force included."""
    lib, store, files = make_library(tmp_path)
    originals = {p: sha(p) for p in files}
    assert_clean(invoke("writeback", lib, "--store", store), 0)
    files[1].unlink()
    for _ in range(2):  # and again: the same answer
        r = invoke("undo", "--store", store, *(["--force"] if force else []))
        assert_clean(r, 1)
        assert str(files[1]) in r.output and "not found" in r.output
    assert all(sha(p) == originals[p] for p in files if p.exists())
    assert _states(store)[0] != "undone"


def test_full_disk_undo_is_silent_about_files_it_never_changed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 14: after a crash before the first write, undo on a full disk said "No space left on
    device" for files it never changed and exited 1. Only files that need a write can fail."""
    import djstruct.writeback.frame_backup as fb
    import djstruct.writeback.undo as undo_mod

    lib, store, files = make_library(tmp_path)
    originals = {p: sha(p) for p in files}
    with monkeypatch.context() as m:
        _crash_before_write(m, at=2)  # file 1 written, file 2 pending and untouched
        invoke("writeback", lib, "--store", store)

    def full(path: Path, *a: object, **k: object) -> None:
        raise WritebackError(path, "disk full: nothing was written")

    monkeypatch.setattr(fb, "atomic_write_bytes", full)
    monkeypatch.setattr(undo_mod, "atomic_write_bytes", full)
    r = invoke("undo", "--store", store)
    assert_clean(r, 1)
    written = next(p for p in files if sha(p) != originals[p])
    assert r.output.count("disk full") == 1 and str(written) in r.output
    monkeypatch.undo()
    r = invoke("undo", "--store", store)
    assert_clean(r, 0)
    assert {p: sha(p) for p in files} == originals


def test_only_unchanged_files_left_exit_0_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import djstruct.writeback.frame_backup as fb

    lib, store, files = make_library(tmp_path)
    with monkeypatch.context() as m:
        _crash_before_write(m, at=1)
        invoke("writeback", lib, "--store", store)

    def full(path: Path, *a: object, **k: object) -> None:
        raise WritebackError(path, "disk full: nothing was written")

    monkeypatch.setattr(fb, "atomic_write_bytes", full)
    r = invoke("undo", "--store", store)
    assert_clean(r, 0)
    assert "disk full" not in r.output and "No space" not in r.output


def _leftover(path: Path, tag: str = "0badcafe") -> Path:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{tag}{TMP_SUFFIX}")
    tmp.write_bytes(b"partial " * 1000)
    return tmp


def test_killed_runs_leave_no_temp_files(tmp_path: Path) -> None:
    """Case 19: a partial `.djstruct-*.tmp` left by `kill -9` stayed for good. The next writeback
    and undo remove djstruct's own temp files next to the files they touch (and nothing else)."""
    lib, store, files = make_library(tmp_path)
    others = [lib / ".djstruct-notes.txt", lib / f"{TMP_PREFIX}{files[0].name}.tmp"]  # not ours: kept
    for p in others:
        p.write_text("the DJ's")
    stale = [_leftover(p) for p in files]
    r = invoke("writeback", lib, "--store", store, "--dry-run")
    assert all(p.exists() for p in stale)  # a dry run changes nothing
    assert_clean(invoke("writeback", lib, "--store", store), 0)
    assert not any(p.exists() for p in stale)
    stale = [_leftover(p, "deadbeef") for p in files]
    assert_clean(invoke("writeback", lib, "--store", store), 0)  # nothing to write: still cleaned
    assert not any(p.exists() for p in stale)
    stale = [_leftover(p, "feedf00d") for p in files]
    assert_clean(invoke("undo", "--store", store), 0)
    assert not any(p.exists() for p in stale)
    assert all(p.read_text() == "the DJ's" for p in others)
    assert sorted(p.name for p in lib.iterdir() if p.name.startswith(".")) == sorted(p.name for p in others)
    assert r.exit_code == 0
