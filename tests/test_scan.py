"""``djstruct scan`` / ``status`` / ``library`` on real files: incremental, robust, read-only."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.library.rekordbox.locations import path_to_location


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def library(short_corpus: Path, tmp_path: Path) -> Path:
    lib = tmp_path / "Music"
    (lib / "sub").mkdir(parents=True)
    audio = sorted(p for p in short_corpus.iterdir() if p.suffix != ".json")
    shutil.copy(audio[0], lib / audio[0].name)
    shutil.copy(audio[1], lib / "sub" / audio[1].name)
    shutil.copy(audio[2], lib / audio[2].name)
    return lib


def test_scan_is_incremental_and_read_only(library: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    before = tree_hashes(library)
    r = run("scan", str(library), "--store", str(store), "--workers", "2")
    assert r.exit_code == 0, r.output
    assert "analysed now" in r.output and "3" in r.output
    assert tree_hashes(library) == before  # a scan never modifies the library

    r = run("scan", str(library), "--store", str(store), "--quiet")
    assert r.exit_code == 0 and r.output.strip() == ""

    from djstruct.store import Store

    with Store.open(store) as st:
        rows = {p.name: st.get_row(p) for p in library.rglob("*") if p.is_file()}
        assert all(row is not None and row.has_analysis for row in rows.values())
        first = {k: v.analyzed_at for k, v in rows.items()}

    # re-tag one file: new mtime and size, same audio -> not analysed again
    import mutagen

    tagged = next(p for p in library.rglob("*.flac"))
    f = mutagen.File(tagged)
    f["COMMENT"] = "x" * 5000
    f.save()
    r = run("scan", str(library), "--store", str(store))
    assert r.exit_code == 0
    with Store.open(store) as st:
        assert st.get_row(tagged).analyzed_at == first[tagged.name]

    # replace a file's audio (same name, new content) -> analysed again
    import numpy as np

    from djstruct.synth.encode import encode

    mp3 = next(library.rglob("*.mp3"))
    noise = np.random.default_rng(1).normal(0, 0.1, (44100 * 5, 2)).astype(np.float32)
    encode(noise, 44100, mp3, "mp3")
    # and a corrupt file in the batch: reported, the rest goes on
    (library / "broken.mp3").write_text("not audio")
    r = run("scan", str(library), "--store", str(store))
    assert r.exit_code == 1
    assert "broken.mp3" in r.output
    with Store.open(store) as st:
        assert st.get_row(mp3).analyzed_at > first[mp3.name]
        assert st.get_row(library / "broken.mp3").error

    r = run("status", "--store", str(store))
    assert r.exit_code == 0 and "folder:" in r.output


def test_scan_xml_with_missing_and_duplicate_entries(library: Path, tmp_path: Path) -> None:
    files = sorted(p for p in library.rglob("*") if p.is_file())
    entries = [(1, files[0]), (2, files[1]), (3, files[0]), (4, library / "gone.mp3")]  # 3 duplicates 1
    tracks = "".join(
        f'<TRACK TrackID="{i}" Name="t{i}" Location="{path_to_location(p)}" TotalTime="60" AverageBpm="128.00"/>'
        for i, p in entries)
    xml = tmp_path / "rekordbox.xml"
    xml.write_text(f'<?xml version="1.0" encoding="UTF-8"?><DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox"/>'
                   f'<COLLECTION Entries="{len(entries)}">{tracks}</COLLECTION></DJ_PLAYLISTS>', encoding="utf-8")
    store = tmp_path / "s.sqlite"
    r = run("scan", "--rekordbox-xml", str(xml), "--store", str(store))
    assert r.exit_code == 1
    assert "gone.mp3" in r.output and "not found" in r.output
    from djstruct.store import Store

    with Store.open(store) as st:
        assert sum(1 for p in files[:2] if st.get_row(p) and st.get_row(p).has_analysis) == 2
        assert len(st.tracks("rekordbox-xml:" + str(xml.resolve()))) == 4

    r = run("library", "--rekordbox-xml", str(xml), "--json")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [d["id"] for d in lines] == ["rbx:1", "rbx:2", "rbx:3", "rbx:4"]
    assert [d["exists"] for d in lines] == [True, True, True, False]
    for d in lines:
        assert set(d) >= {"id", "path", "exists", "duration_s", "bpm", "grid", "cues", "phrases"}


def test_scan_usage_errors(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["scan", "--store", str(tmp_path / "s")])
    assert r.exit_code == 2 and "no library given" in r.output
    r = CliRunner().invoke(cli, ["scan", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "not a folder" in r.output
    bad = tmp_path / "bad.xml"
    bad.write_text("<DJ_PLAYLISTS><COLLECTION><TRACK")
    r = CliRunner().invoke(cli, ["scan", "--rekordbox-xml", str(bad), "--store", str(tmp_path / "s")])
    assert r.exit_code == 1 and "bad.xml" in r.output


def test_second_run_is_locked_out(library: Path, tmp_path: Path) -> None:
    from djstruct.lock import RunLock

    store = tmp_path / "store.sqlite"
    with RunLock.for_store(store):
        r = CliRunner().invoke(cli, ["scan", str(library), "--store", str(store)])
    assert r.exit_code == 3
    assert "another djstruct run" in r.output


def test_sigkill_midway_then_resume(short_corpus: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    src = sorted(p for p in short_corpus.iterdir() if p.suffix != ".json")
    for i in range(8):
        shutil.copy(src[i % 3], lib / f"{i}{src[i % 3].suffix}")
    store = tmp_path / "store.sqlite"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # dsp: one stored result per track (the batched ml detector stores a batch at a time)
    proc = subprocess.Popen([sys.executable, "-m", "djstruct.cli.main", "scan", str(lib), "--store", str(store),
                             "--workers", "1", "--detector", "dsp"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    from djstruct.store import Store

    deadline = time.time() + 120
    done_first: set[str] = set()
    while time.time() < deadline:
        time.sleep(0.3)
        if store.exists():
            try:
                with Store.open(store) as st:
                    done_first = {p.name for p in lib.iterdir() if (r := st.get_row(p)) and r.has_analysis}
            except Exception:
                continue
            if len(done_first) >= 2:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(done_first) < 8
    with Store.open(store) as st:
        rows = {p.name: st.get_row(p) for p in lib.iterdir()}
        stamps = {name: row.analyzed_at for name, row in rows.items() if row and row.has_analysis}
    r = run("scan", str(lib), "--store", str(store), "--detector", "dsp")
    assert r.exit_code == 0, r.output
    with Store.open(store) as st:
        for name, at in stamps.items():  # nothing finished before the kill is analysed again
            assert st.get_row(lib / name).analyzed_at == at
        assert all(st.get_row(p).has_analysis for p in lib.iterdir())
