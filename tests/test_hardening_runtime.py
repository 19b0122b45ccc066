"""Absurd grids, damaged audio headers, exit codes, orphaned workers and where writeback may write
(issue 15, cases 3, 13, 18, 20 and the Location design point)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from hardening_lib import (
    assert_clean,
    clip,
    invoke,
    make_library,
    ogg_with_last_granule,
    put_serato,
    rekordbox_xml,
    sha,
)

from djstruct.audio import TooLongError, load_audio
from djstruct.library.rekordbox.locations import path_to_location
from djstruct.library.serato.read import read_serato_tags
from djstruct.store import Store
from djstruct.types import MAX_GRID_BEATS, GridMarker, LibraryGrid


def _beatgrid(markers: list[tuple[float, float | int]]) -> bytes:
    """A ``Serato BeatGrid`` payload: (position s, beats till next) ... (position s, bpm)."""
    body = b"".join(struct.pack(">fI", p, int(n)) for p, n in markers[:-1])
    body += struct.pack(">ff", *markers[-1])
    return b"\x01\x00" + struct.pack(">I", len(markers)) + body + b"\x00"


@pytest.mark.parametrize("markers", [[(0.1, 1e26)], [(0.1, 1e8)], [(0.0, 4294967295), (1e-6, 128.0)],
                                     [(float("nan"), 128.0)], [(-1e30, 128.0)], [(0.1, float("inf"))]])
def test_absurd_serato_beatgrid_is_ignored_with_bounded_memory(markers: list[tuple[float, float]],
                                                               tmp_path: Path) -> None:
    """Case 3 (already held after the grid refactor): a corrupt BeatGrid (BPM up to 1e26) made
    LibraryGrid.beats build 10^8+ beats; every command now runs in bounded memory."""
    lib, store, files = make_library(tmp_path, n=1, fmt="mp3")
    put_serato(files[0], {"Serato BeatGrid": _beatgrid(markers)})
    grid = read_serato_tags(files[0]).grid
    assert grid is None or all(m.valid for m in grid.markers)  # the absurd markers are dropped
    tracemalloc.start()
    try:
        for args in (["library", lib, "--json"], ["writeback", lib, "--store", store, "--dry-run", "--json"],
                     ["report", lib, "--store", store, "--out", tmp_path / "report"],
                     ["writeback", lib, "--store", store]):
            assert_clean(invoke(*args), 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, peak


def test_grid_expansion_is_bounded_even_when_built_by_hand() -> None:
    assert LibraryGrid.checked([GridMarker(0.0, 1e26)]) is None
    times, _ = LibraryGrid((GridMarker(0.0, 400.0),)).beats(1e12)
    assert len(times) == MAX_GRID_BEATS
    times, _ = LibraryGrid((GridMarker(0.0, 1e26), GridMarker(float("nan"), 120.0))).beats(60.0)
    assert len(times) == 0


def test_damaged_ogg_header_length_is_not_believed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Case 13: a damaged OGG was "58096321723:42:04 long" and the advice named the API argument
    max_duration_s. Now the impossible header is ignored (the audio that is there decodes), and a
    track that is really too long names the --max-duration option."""
    good = clip(tmp_path / "good.ogg", "ogg", seconds=3.0)
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(ogg_with_last_granule(good.read_bytes(), 2**62))
    audio = load_audio(bad)
    assert audio.duration_s == pytest.approx(3.0, abs=0.1)
    assert "impossible length" in caplog.text
    assert load_audio(bad, max_duration_s=None).duration_s == pytest.approx(3.0, abs=0.1)
    with pytest.raises(TooLongError) as ei:
        load_audio(good, max_duration_s=1.0)
    msg = str(ei.value)
    assert "--max-duration" in msg and "max_duration_s" not in msg and "0:00" not in msg.split("limit")[0][-12:]
    lib = tmp_path / "lib"
    lib.mkdir()
    bad.rename(lib / "bad.ogg")
    r = invoke("scan", lib, "--store", tmp_path / "store.sqlite", "--detector", "dsp", "--workers", "1",
               "--max-duration", "60")
    assert_clean(r, 0)


def test_report_exit_codes(tmp_path: Path) -> None:
    """Case 18 (already held since the Report refactor): report exits 1 for an unreadable library or
    a failed track, 0 when all is well."""
    lib, store, files = make_library(tmp_path, n=2)
    assert_clean(invoke("report", lib, "--store", store, "--out", tmp_path / "r0"), 0)
    broken = tmp_path / "broken.xml"
    broken.write_text("<DJ_PLAYLISTS><COLLECTION", encoding="utf-8")
    r = invoke("report", "--rekordbox-xml", broken, "--store", store, "--out", tmp_path / "r1")
    assert_clean(r, 1)
    assert str(broken) in r.output
    with Store.open(store) as st:
        st.put_error(files[1], "cannot decode", None)
    assert_clean(invoke("report", lib, "--store", store, "--out", tmp_path / "r2"), 1)


_POOL_CHILD = textwrap.dedent("""
    import sys, time
    from djstruct.workers import process_pool
    pool = process_pool(2)
    futures = [pool.submit(time.sleep, 120) for _ in range(2)]
    time.sleep(0.5)
    print(" ".join(str(p) for p in pool._processes), flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not reaped) is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_workers_exit_when_the_parent_is_killed() -> None:
    """Case 20 (already held since workers.py): kill -9 of a scan left its workers running for
    minutes; they now notice within a few seconds, even in the middle of a task."""
    proc = subprocess.Popen([sys.executable, "-c", _POOL_CHILD], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_locations_outside_the_library_touch_only_analysed_audio(tmp_path: Path) -> None:
    """Design point: a Rekordbox XML naming `lib/../../x` with --target serato. Decision
    (documented in the README): writeback writes only files the store has analysed, with their
    audio unchanged since, wherever the library puts them (libraries span disks, so no folder
    confinement); anything else a hostile or stale library names is reported and left alone."""
    lib, store, files = make_library(tmp_path / "a" / "b", n=1, fmt="mp3")
    outside = clip(tmp_path / "x.mp3", "mp3", seconds=2.0)
    secret = tmp_path / "notes.mp3"
    secret.write_bytes(b"not audio at all, the DJ's own file " * 50)
    before = {p: sha(p) for p in (outside, secret)}
    weird = [lib / ".." / ".." / ".." / "x.mp3", lib / ".." / ".." / ".." / "notes.mp3"]
    xml = rekordbox_xml(tmp_path / "rb.xml", files)
    text = xml.read_text(encoding="utf-8")
    rows = "".join(f'<TRACK TrackID="{9 + i}" Name="w" Location="{path_to_location(p)}"/>' for i, p in enumerate(weird))
    xml.write_text(text.replace("</COLLECTION>", rows + "</COLLECTION>"), encoding="utf-8")
    r = invoke("writeback", "--rekordbox-xml", xml, "--target", "serato", "--store", store)
    assert_clean(r, 0)
    assert "wrote 1 of 3" in r.output and "2 tracks not analysed yet" in r.output
    assert {p: sha(p) for p in before} == before


@pytest.mark.parametrize(("row", "ok"), [((1500, None, 0, "m"), True), (("x", None, 0, ""), False),
                                         (("nan", None, 0, ""), False), (("inf", None, 1, ""), False),
                                         ((-5, None, 0, ""), False), ((1e30, None, 0, ""), False),
                                         ((1500, "zz", 1, ""), True), ((1500, 900, "k", ""), False)])
def test_master_db_cue_rows_with_bad_numbers_are_skipped(row: tuple[object, ...], ok: bool) -> None:
    """Readers validate: a djmdCue row whose InMsec/OutMsec/Kind is no number is skipped with a
    warning instead of ending the whole library read with a ValueError."""
    from djstruct.library.rekordbox import db

    cue = db._cue(*row)
    assert (cue is not None) == ok
    if cue is not None:
        assert cue.start_s == 1.5 and cue.end_s is None
