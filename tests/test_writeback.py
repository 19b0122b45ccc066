"""writeback / undo end to end on real files: Serato tags and Rekordbox XML."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from djstruct.audio.fingerprint import audio_payload_sha256
from djstruct.cli.main import cli
from djstruct.library.rekordbox.locations import path_to_location
from djstruct.library.rekordbox.xml import read_xml
from djstruct.library.serato.read import read_serato_tags
from djstruct.library.serato.write import write_hot_cues
from djstruct.types import Cue


def invoke(*args: str, code: int | None = 0):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if code is not None:
        assert r.exit_code == code, r.output
    return r


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


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


def analysis_downbeats(store: Path, path: Path) -> np.ndarray:
    from djstruct.store import Store

    with Store.open(store) as st:
        return np.asarray(st.get_analysis(path).downbeats)


def test_serato_dry_run_write_rerun_undo(scanned: tuple[Path, Path]) -> None:
    lib, store = scanned
    files = sorted(lib.iterdir())
    mp3 = next(p for p in files if p.suffix == ".mp3")
    # the DJ's own hot cue in slot A, which must survive everything
    write_hot_cues(mp3, [Cue("hot", 1.234, 0, None, "my cue", "#123456")])
    originals = {p.name: sha(p) for p in files}
    audio = {p.name: audio_payload_sha256(p) for p in files}

    r = invoke("writeback", str(lib), "--store", str(store), "--dry-run")
    assert "would write" in r.output and "add" in r.output
    assert {p.name: sha(p) for p in files} == originals  # a dry run changes nothing

    r = invoke("writeback", str(lib), "--store", str(store), "--json", "--dry-run")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == 3 and all(row["target"] == "serato" for row in rows)
    assert all(any(c["action"] == "skip" and c["kind"] == "memory" for c in row["changes"]) for row in rows)

    r = invoke("writeback", str(lib), "--store", str(store))
    assert "wrote 3 of 3" in r.output
    for p in files:
        tags = read_serato_tags(p)
        hot = [c for c in tags.cues if c.kind == "hot"]
        assert len(hot) >= 3
        down = analysis_downbeats(store, p)
        for c in hot:
            if c.name == "my cue":
                continue
            assert np.min(np.abs(down - c.start_s)) < 0.0006  # on a downbeat (Serato stores whole ms)
        assert audio_payload_sha256(p) == audio[p.name]  # not an audio frame changed
    mine = [c for c in read_serato_tags(mp3).cues if c.name == "my cue"]
    assert mine == [Cue("hot", 1.234, 0, None, "my cue", "#123456")]

    r = invoke("writeback", str(lib), "--store", str(store))
    assert "wrote 0 of 3" in r.output  # unchanged analysis: nothing to do

    r = invoke("undo", "--store", str(store))
    assert "restored 3 files" in r.output
    assert {p.name: sha(p) for p in files} == originals
    r = invoke("undo", "--store", str(store), code=1)
    assert "nothing to undo" in r.output


def test_replace_own_keeps_user_cues(scanned: tuple[Path, Path]) -> None:
    lib, store = scanned
    flac = next(p for p in lib.iterdir() if p.suffix == ".flac")
    write_hot_cues(flac, [Cue("hot", 0.5, 7, None, "user H", None)])
    invoke("writeback", str(lib), "--store", str(store))
    n_default = len([c for c in read_serato_tags(flac).cues if c.kind == "hot"])
    invoke("writeback", str(lib), "--store", str(store), "--layout", "minimal", "--policy", "replace-own")
    hot = [c for c in read_serato_tags(flac).cues if c.kind == "hot"]
    assert any(c.name == "user H" and c.slot == 7 for c in hot)
    assert len(hot) <= 4 < n_default  # minimal: start, first drop, outro (+ the user's)
    r = invoke("undo", "--list", "--store", str(store))
    assert "replace-own" in r.output


def test_refuses_changed_and_reports_unwritable(scanned: tuple[Path, Path]) -> None:
    lib, store = scanned
    m4a = next(p for p in lib.iterdir() if p.suffix == ".m4a")
    mp3 = next(p for p in lib.iterdir() if p.suffix == ".mp3")
    shutil.copy(next(p for p in lib.iterdir() if p.suffix == ".flac"), lib / "tmp.flac")
    from djstruct.synth.encode import encode

    encode(np.random.default_rng(0).normal(0, 0.1, (44100 * 3, 2)).astype(np.float32), 44100, m4a, "m4a")
    mp3.chmod(0o444)
    try:
        r = invoke("writeback", str(lib), "--store", str(store), code=1)
    finally:
        mp3.chmod(0o644)
    assert "changed since the scan" in r.output and m4a.name in r.output
    assert mp3.name in r.output  # read-only: reported, the rest went on
    assert "wrote 1 of" in r.output


def _xml_library(lib: Path, store: Path, tmp: Path) -> Path:
    """A Rekordbox export of the scanned files, with its own grid (a few ms off ours) and a cue."""
    from djstruct.store import Store

    rows = []
    with Store.open(store) as st:
        for i, p in enumerate(sorted(lib.iterdir()), 1):
            a = st.get_analysis(p)
            first = a.downbeats[0] + 0.004
            loc = path_to_location(p)
            rows.append(
                f'<TRACK TrackID="{i}" Name="{p.stem}" Location="{loc}" TotalTime="{int(a.duration_s)}" '
                f'AverageBpm="{a.bpm:.2f}"><TEMPO Inizio="{first:.3f}" Bpm="{a.bpm:.2f}" Metro="4/4" Battito="1"/>'
                f'<POSITION_MARK Name="DJ cue" Type="0" Start="{first + 0.5:.3f}" Num="-1"/></TRACK>')
    xml = tmp / "rekordbox.xml"
    xml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox"/>'
                   f'<COLLECTION Entries="{len(rows)}">{"".join(rows)}</COLLECTION></DJ_PLAYLISTS>\n', encoding="utf-8")
    return xml


def test_rekordbox_xml_cues_on_the_library_grid(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    lib, store = scanned
    xml = _xml_library(lib, store, tmp_path)
    before = sha(xml)
    out = tmp_path / "import.xml"
    r = invoke("writeback", "--rekordbox-xml", str(xml), "--store", str(store), "--out", str(out))
    assert out.exists() and sha(xml) == before  # the user's export is never modified
    assert "wrote 3 of 3" in r.output
    from djstruct import timing

    n = 0
    for t in read_xml(out):
        assert t.grid is not None
        down = t.grid.downbeats(t.duration_s + 10)
        assert any(c.name == "DJ cue" for c in t.cues)  # the user's memory cue is kept
        for c in t.cues:
            if c.name == "DJ cue":
                continue
            n += 1
            assert np.min(np.abs(down - c.start_s)) < 0.0006, (t.path, c)  # 100 % on the library's downbeats
        assert timing.offset_s(t.path, "rekordbox") >= 0
    assert n >= 9
    invoke("undo", "--store", str(store))
    assert not out.exists()


def test_usage_errors(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    lib, store = scanned
    r = invoke("writeback", str(lib), "--store", str(store), "--layout", "nope", code=2)
    assert "unknown layout" in r.output
    r = invoke("writeback", str(lib), "--store", str(store), "--target", "rekordbox-db", code=2)
    assert "--direct" in r.output
    r = invoke("writeback", str(lib), "--store", str(tmp_path / "none.sqlite"), code=2)
    assert "no analysis store" in r.output


def test_crash_mid_run_then_undo_restores_what_was_written(scanned: tuple[Path, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    lib, store = scanned
    originals = {p.name: sha(p) for p in lib.iterdir()}
    import djstruct.writeback.apply as apply_mod

    real = apply_mod.write_hot_cues
    calls = {"n": 0}

    def flaky(path, cues, state=None):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process dies in the middle of the run
        return real(path, cues, state)

    monkeypatch.setattr(apply_mod, "write_hot_cues", flaky)
    r = CliRunner().invoke(cli, ["writeback", str(lib), "--store", str(store)])
    assert r.exit_code != 0  # click turns the interrupt into "Aborted!"
    assert sum(sha(p) != originals[p.name] for p in lib.iterdir()) == 1  # one file was written
    monkeypatch.setattr(apply_mod, "write_hot_cues", real)
    r = invoke("undo", "--store", str(store))
    assert "restored 2 files" in r.output  # the written one and the pending one (a no-op restore)
    assert {p.name: sha(p) for p in lib.iterdir()} == originals


@pytest.mark.parametrize("fmt", ["mp3", "mp3-noxing", "wav", "aiff", "flac", "m4a", "ogg"])
def test_frame_backup_restores_every_format_exactly(fmt: str, tmp_path: Path) -> None:
    from djstruct.synth.encode import FORMATS, encode
    from djstruct.writeback import frame_backup

    ext = FORMATS[fmt] if FORMATS[fmt].startswith(".") else "." + FORMATS[fmt]
    noise = np.random.default_rng(2).normal(0, 0.1, (44100 * 2, 2)).astype(np.float32)
    p = encode(noise, 44100, tmp_path / f"x{ext}", fmt)
    original = p.read_bytes()
    backup = json.loads(json.dumps(frame_backup.take(p)))  # survives the JSON journal
    write_hot_cues(p, [Cue("hot", 0.5, 0, None, "a" * 300, "#ff0000"), Cue("hot", 1.0, 3, None, "b", None)])
    assert p.read_bytes() != original
    assert frame_backup.restore(p, backup)
    assert p.read_bytes() == original
