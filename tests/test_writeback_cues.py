"""What a DJ sees around a writeback on real files: no "stale" after djstruct's own writes and
after undo, grids that disagree warned about and skipped, and output that reads well when piped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.library.rekordbox.locations import path_to_location
from djstruct.store import Store


def invoke(*args: str, code: int | None = 0):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if code is not None:
        assert r.exit_code == code, r.output
    return r


def status_total(store: Path) -> dict[str, int]:
    return json.loads(invoke("status", "--store", str(store), "--json").stdout)["total"]


@pytest.fixture()
def scanned(short_corpus: Path, tmp_path: Path) -> tuple[Path, Path]:
    lib = tmp_path / "Music"
    lib.mkdir()
    for p in short_corpus.iterdir():
        if p.suffix != ".json":
            shutil.copy(p, lib / p.name)
    store = tmp_path / "store.sqlite"
    invoke("scan", str(lib), "--store", str(store))
    return lib, store


def test_no_stale_after_writeback_and_after_undo(scanned: tuple[Path, Path]) -> None:
    lib, store = scanned
    assert status_total(store)["stale"] == 0
    r = invoke("writeback", str(lib), "--store", str(store))
    assert "wrote 3 of 3" in r.output
    with Store.open(store) as st:  # the store knows the new tags: size and mtime of the file as written
        for p in lib.iterdir():
            row = st.get_row(p)
            assert (row.size, row.mtime_ns) == (p.stat().st_size, p.stat().st_mtime_ns)
    assert status_total(store) == {**status_total(store), "stale": 0, "analysed": 3}
    assert report_statuses(lib, store) == ["ok"] * 3
    invoke("undo", "--store", str(store))
    assert status_total(store)["stale"] == 0 and status_total(store)["analysed"] == 3
    assert report_statuses(lib, store) == ["ok"] * 3


def report_statuses(lib: Path, store: Path) -> list[str]:
    from djstruct.library import LibrarySource
    from djstruct.report.build import ReportConfig, collect

    with Store.open(store) as st:
        entries = collect(ReportConfig(sources=(LibrarySource("folder", lib),), store_path=store), st, [])
    return [e.row["status"] for e in entries]


def test_a_retag_by_the_dj_app_is_not_stale_but_new_audio_is(scanned: tuple[Path, Path]) -> None:
    from djstruct.library.serato.write import write_hot_cues
    from djstruct.types import Cue

    lib, store = scanned
    mp3 = next(p for p in lib.iterdir() if p.suffix == ".mp3")
    write_hot_cues(mp3, [Cue("hot", 1.0, 0, None, "app cue", None)])  # as Serato would, behind djstruct's back
    assert status_total(store)["stale"] == 0
    flac = next(p for p in lib.iterdir() if p.suffix == ".flac")
    shutil.copy(mp3, flac)  # other audio under the same name
    r = invoke("status", "--store", str(store))
    assert status_total(store)["stale"] == 1 and "run djstruct scan" in r.output
    r = invoke("writeback", str(lib), "--store", str(store), "--dry-run", code=1)
    assert "audio changed since the scan" in r.output and "run djstruct scan again" in r.output


def test_dry_run_reads_well(scanned: tuple[Path, Path]) -> None:
    lib, store = scanned
    r = invoke("writeback", str(lib), "--store", str(store), "--dry-run")
    out = r.output
    assert "the target has no memory cues" not in out  # one line for all of them instead
    assert "memory cues not written: serato has no memory cues" in out
    lines = out.splitlines()
    per_track = [x for x in lines if " BPM, " in x and "sections" in x and "hot +" in x]
    assert len(per_track) == 3
    assert any(len(x) > 80 for x in lines)  # piped: rows are not cut or wrapped at 80 columns
    rows = [x for x in lines if x.lstrip().startswith("add ") and "hot " in x]
    assert rows and all(x.rstrip().endswith(("start", "drop", "buildup", "breakdown", "outro", "intro"))
                        for x in rows)  # each row whole on one line, ending with its reason
    r = invoke("writeback", str(lib), "--store", str(store))
    assert len([x for x in r.output.splitlines() if " BPM, " in x]) == 3  # the same line when writing


def _xml(lib: Path, store: Path, tmp: Path, factor: float) -> Path:
    """A Rekordbox export of the scanned files whose grid runs at ``factor`` x djstruct's tempo."""
    rows = []
    with Store.open(store) as st:
        for i, p in enumerate(sorted(lib.iterdir()), 1):
            a = st.get_analysis(p)
            rows.append(f'<TRACK TrackID="{i}" Name="{p.stem}" Location="{path_to_location(p)}" '
                        f'TotalTime="{int(a.duration_s)}" AverageBpm="{a.bpm * factor:.2f}">'
                        f'<TEMPO Inizio="{a.downbeats[0]:.3f}" Bpm="{a.bpm * factor:.2f}" Metro="4/4" Battito="1"/>'
                        '</TRACK>')
    xml = tmp / "rekordbox.xml"
    xml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox"/>'
                   f'<COLLECTION Entries="{len(rows)}">{"".join(rows)}</COLLECTION></DJ_PLAYLISTS>\n', encoding="utf-8")
    return xml


def test_grid_disagreement_is_warned_about_in_scan_dry_run_and_report(scanned: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    lib, store = scanned
    xml = _xml(lib, store, tmp_path, 2.0 / 3.0)
    fresh = tmp_path / "fresh.sqlite"
    r = invoke("scan", "--rekordbox-xml", str(xml), "--store", str(fresh))
    assert r.output.count("disagrees with djstruct's tempo (") == 3 and "grid disagreements" in r.output
    out = tmp_path / "import.xml"
    r = invoke("writeback", "--rekordbox-xml", str(xml), "--store", str(fresh), "--out", str(out), "--dry-run")
    assert r.output.count("disagrees with djstruct's tempo (") == 3 and "no cues planned" in r.output
    assert "would write 0 of 3" in r.output and "3 tracks where the library's beat grid disagrees" in r.output
    r = invoke("writeback", "--rekordbox-xml", str(xml), "--store", str(fresh), "--out", str(out), "--dry-run",
               "--grid", "library")
    assert "would write 3 of 3" in r.output and "anyway" in r.output
    r = invoke("writeback", "--rekordbox-xml", str(xml), "--store", str(fresh), "--out", str(out), "--json",
               "--dry-run")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert all(row["warning"] and row["changes"] == [] for row in rows)
    r = invoke("report", "--rekordbox-xml", str(xml), "--store", str(fresh), "--out", str(tmp_path / "rep"),
               "--workers", "1")
    assert "3 with a disagreeing grid" in r.output
    assert "disagrees with djstruct" in (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")

    agree = _xml(lib, store, tmp_path, 2.0)  # double time: the same music, an octave apart
    r = invoke("scan", "--rekordbox-xml", str(agree), "--store", str(tmp_path / "agree.sqlite"))
    assert "disagrees" not in r.output


def test_a_report_that_cannot_decode_the_audio_says_so(scanned: tuple[Path, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import djstruct.report.build as build_mod

    lib, store = scanned
    monkeypatch.setattr(build_mod, "envelope_job",
                        lambda path, *a: (path, f"{path}: cannot decode for the waveform: boom", ()))
    r = invoke("report", str(lib), "--store", str(store), "--out", str(tmp_path / "rep"), "--workers", "1", code=1)
    assert "3 without a waveform" in r.output and "could not be decoded" in r.output
    assert r.output.count("cannot decode for the waveform: boom") == 3  # each file named
