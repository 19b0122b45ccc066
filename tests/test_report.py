"""``djstruct report``: the data the pages get (rows, page JSON, waveform summaries), the HTML writer
and the PNG drawing, on hand-made analyses and tiny WAV files (fast; the browser test is
``test_report_browser.py``)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.cues.plan import load_layout
from djstruct.report import palette as pal
from djstruct.report.data import build_entry, cue_diff, cue_marks, page_id, review_key, status_of
from djstruct.report.render import GENERATOR, script_json, write_assets, write_index, write_track_page
from djstruct.report.waveform import energy_columns, envelope, file_envelope, from_energy, n_columns, quantise
from djstruct.store import FileRow, Store
from djstruct.types import Analysis, Cue, Energy, GridMarker, LibraryGrid, Phrase, Section, Track

BPM = 120.0
BAR = 2.0


def make_analysis(path: str, duration: float = 64.0, confidence: float = 0.7) -> Analysis:
    beats = tuple(np.arange(0.0, duration, 60.0 / BPM))
    down = tuple(np.arange(0.0, duration, BAR))
    secs = (Section(0.0, 16.0, "intro"), Section(16.0, 32.0, "buildup"), Section(32.0, 48.0, "drop"),
            Section(48.0, 64.0, "outro"))
    n = int(duration / 0.1)
    t = np.arange(n) * 0.1
    energy = Energy(0.1, np.where((t >= 32) & (t < 48), 0.9, 0.2).astype(np.float32),
                    np.full(n, 0.5, np.float32), np.linspace(0, 1, n).astype(np.float32))
    return Analysis(path, duration, BPM, beats, down, secs, (32.0,), energy, "dsp", confidence)


def write_wav(path: Path, duration: float = 64.0, rate: int = 8000) -> Path:
    import soundfile as sf

    t = np.arange(int(duration * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * 220 * t) * np.where(t >= 32, 1.0, 0.25)
    sf.write(str(path), x.astype(np.float32), rate)
    return path


def entry(tmp_path: Path, cues: tuple[Cue, ...] = (), target: str = "rekordbox-xml",
          grid: LibraryGrid | None = None) -> Any:
    p = write_wav(tmp_path / "a track.wav", 64.0)
    track = Track("rb:1", p, "rekordbox-xml", cues=cues, grid=grid, title="A Track", artist="DJ",
                  extras={"library": "rekordbox-xml:/x.xml"})
    return build_entry(track, make_analysis(str(p)), None, load_layout("default"), target, [], "rb_1")


# ------------------------------------------------------------------ palette


def test_palette_matches_the_default_layout_and_is_json() -> None:
    colours = load_layout("default").colors
    for label, colour in pal.SECTION_COLORS.items():
        assert colours[label] == colour
    assert pal.section_color("something else") == pal.OTHER_SECTION_COLOR
    js = pal.palette_json()
    assert json.loads(json.dumps(js))["lanes"][0] == ["flags_top", 22]
    off = pal.lane_offsets()
    assert off["total"][1] == sum(h for _, h in pal.LANES)
    assert off["wave"][0] == off["sections"][0] + off["sections"][1]


def test_bar_label_step_and_energy_mix() -> None:
    assert pal.bar_label_step(10, 1200) == 1
    assert pal.bar_label_step(100, 1200) == 4  # 12 px per bar -> every 4th bar (48 px)
    assert pal.bar_label_step(0, 1200) == pal.BAR_LABEL_STEPS[-1]
    r, g, b = pal.energy_mix(1.0, 0.1, 0.1)
    assert r > 200 and g < 120 and b < 120  # bass -> red
    r, g, b = pal.energy_mix(0.05, 0.05, 1.0)
    assert b > r and b > g
    assert pal.energy_mix(0, 0, 0) == pal._rgb(pal.GRID)
    assert max(pal.energy_mix(0.2, 0.2, 0.2)) < max(pal.energy_mix(1, 1, 1))  # louder is brighter


# ------------------------------------------------------------------ waveform


def test_envelope_peak_and_rms() -> None:
    x = np.concatenate([np.zeros(1000), np.ones(1000) * -0.5])
    peak, rms = envelope(x, 4)
    assert peak.tolist() == [0, 0, 0.5, 0.5] and rms == pytest.approx([0, 0, 0.5, 0.5])
    peak, rms = envelope(np.ones(3), 5)  # fewer samples than columns: empty columns are 0
    assert len(peak) == 5 and peak.max() == 1
    qp, qr = quantise(np.array([0.1, 0.5]), np.array([0.05, 0.25]))
    assert qp.tolist() == [51, 255] and qr.dtype == np.uint8
    assert n_columns(600.0) == 1500 and n_columns(10.0) == 500 and n_columns(0.0) == 1


def test_energy_columns_and_fallback() -> None:
    a = make_analysis("x")
    cols = energy_columns(a.energy, a.duration_s, 64, smooth_s=0.0)
    assert cols is not None and all(len(v) == 64 for v in cols.values())
    assert cols["bass"][40] == 90 and cols["bass"][10] == 20  # the drop is bass-heavy
    assert cols["high"][0] < cols["high"][-1]
    smooth = energy_columns(a.energy, a.duration_s, 64, smooth_s=4.0)
    assert smooth is not None and 20 < smooth["bass"][32] < 90  # blurred at the drop's edge
    assert energy_columns(None, 64.0, 64) is None
    env = from_energy(a.energy, a.duration_s, 64, "file missing")
    assert env.source == "energy" and env.peak.max() == 255 and env.note == "file missing"
    assert from_energy(None, 64.0, 10, "").source == "none"


def test_file_envelope_lines_up_with_the_analysis(tmp_path: Path) -> None:
    p = write_wav(tmp_path / "x.wav", 64.0)
    env = file_envelope(p, 64.0, 64, rate_hz=4000)
    d = env.to_dict()
    assert d["n"] == 64 and d["source"] == "audio" and d["col_s"] == pytest.approx(1.0)
    assert max(d["peak"]) == 255 and d["peak"][10] < 80  # quiet until 32 s
    assert min(d["peak"][33:]) > 240
    longer = file_envelope(p, 80.0, 80, rate_hz=4000)  # analysis longer than the file: zero-padded
    assert longer.peak[-1] == 0


# ------------------------------------------------------------------ data


def test_page_json_has_everything_the_page_draws(tmp_path: Path) -> None:
    e = entry(tmp_path)
    page = e.page
    assert page is not None and json.loads(json.dumps(page)) == page
    assert page["audio_url"].startswith("file://") and "a%20track.wav" in page["audio_url"]
    assert [s["name"] for s in page["sections"]] == ["Intro", "Build 1", "Drop 1", "Outro"]
    assert [s["bar"] for s in page["sections"]] == [1, 9, 17, 25]
    assert page["sections"][2]["color"] == pal.SECTION_COLORS["drop"]
    assert page["downbeats"][:3] == [0.0, 2.0, 4.0] and len(page["beats"]) == 128
    assert page["grid_source"] == "analysis" and page["drops"] == [32.0]
    planned = [c for c in page["cues"] if c["origin"] == "planned"]
    assert {c["kind"] for c in planned} == {"hot", "memory"}  # rekordbox: memory cues too
    assert [c["letter"] for c in planned if c["kind"] == "hot"] == ["A", "B", "C", "D"]
    assert all(c["action"] == "add" for c in planned)
    assert e.row["cues_planned"] == len(planned) and e.row["cues_existing"] == 0
    assert e.row["page"] == "tracks/rb_1.html" and e.row["status"] == "ok" and e.row["sections"] == 4


def test_a_change_inside_a_section_is_drawn_and_cued_as_a_new_part(tmp_path: Path) -> None:
    p = write_wav(tmp_path / "b.wav", 64.0)
    a = replace(make_analysis(str(p)), changes=(8.0,))  # drums in after 4 bars of the intro
    track = Track("rb:2", p, "rekordbox-xml", title="B", extras={"library": "rekordbox-xml:/x.xml"})
    page = build_entry(track, a, None, load_layout("default"), "rekordbox-xml", [], "rb_2").page
    assert page is not None and page["changes"] == [8.0]
    assert [s["name"] for s in page["sections"]] == ["Intro", "Build 1", "Drop 1", "Outro"]  # still one intro
    assert [(c["t"], c["name"]) for c in page["cues"] if c["kind"] == "memory"][:2] == [(0.0, "Intro"),
                                                                                         (8.0, "Intro +4")]


def test_existing_cues_stay_and_block_planned_ones(tmp_path: Path) -> None:
    mine = (Cue("hot", 32.1, 0, None, "my drop", "#00ff00"), Cue("memory", 51.0, None, None, "note"))
    e = entry(tmp_path, mine)
    cues = e.page["cues"]
    existing = [c for c in cues if c["origin"] == "existing"]
    assert [(c["t"], c["letter"], c["who"], c["bar"]) for c in existing] == [(32.1, "A", "user", 17),
                                                                            (51.0, "M", "user", None)]
    skipped = [c for c in cues if c["action"] == "skip"]
    assert any(c["t"] == 32.0 and c["kind"] == "hot" for c in skipped)  # within one beat of "my drop"
    assert "A" not in [c["letter"] for c in cues if c["origin"] == "planned" and c["action"] != "skip"]
    assert e.row["cues_existing"] == 2 and e.row["cues_skipped"] == len(skipped)


def test_serato_target_skips_memory_cues_and_library_grid_is_the_ruler(tmp_path: Path) -> None:
    grid = LibraryGrid((GridMarker(0.5, 120.0),))  # the library's grid is 0.5 s later
    e = entry(tmp_path, target="serato", grid=grid)
    planned = [c for c in e.page["cues"] if c["origin"] == "planned"]
    assert all(c["action"] == "skip" for c in planned if c["kind"] == "memory")
    assert e.page["grid_source"] == "library" and e.page["downbeats"][0] == 0.5
    assert all(abs((c["t"] - 0.5) % 2.0) < 1e-6 for c in planned)  # cues snap to the library's bars


def test_cue_diff_matches_writeback_planning(tmp_path: Path) -> None:
    from djstruct.cues.diff import diff_cues
    from djstruct.cues.plan import plan_cues

    p = write_wav(tmp_path / "x.wav", 64.0)
    a = make_analysis(str(p))
    layout = load_layout("default")
    track = Track("t", p, "folder")
    diff, offset = cue_diff(track, a, layout, "serato")
    expected = diff_cues((), plan_cues(a, layout, None), policy="fill", beat_s=0.5, memory_supported=False)
    assert offset == 0.0 and diff == expected
    assert len(cue_marks(diff)) == len(expected.changes)


def test_status_rows_and_review_order(tmp_path: Path) -> None:
    p = write_wav(tmp_path / "x.wav", 4.0)
    track = Track("t", p, "folder")
    failed = FileRow(str(p), 1, 1, None, None, None, False, None, "cannot decode", 1.0)
    assert status_of(track, None, failed) == ("failed", "cannot decode")
    assert status_of(track, None, None)[0] == "pending"
    assert status_of(Track("t", tmp_path / "gone.wav", "folder"), None, None)[0] == "missing"
    stale = FileRow(str(p), 1, 1, None, "dsp", "1", True, 1.0, None, None)
    assert status_of(track, make_analysis(str(p)), stale)[0] == "stale"
    keys = sorted([("ok", 0.9), ("failed", None), ("ok", 0.2), ("pending", None)], key=lambda s: review_key(*s))
    assert keys == [("failed", None), ("ok", 0.2), ("ok", 0.9), ("pending", None)]
    e = build_entry(track, None, failed, load_layout("default"), "serato", [], "t")
    assert e.page is None and e.row["page"] is None and e.row["error"] == "cannot decode"


def test_page_ids_are_safe_and_unique() -> None:
    used: set[str] = set()
    ids = [page_id(x, used) for x in ("rb:12", "rb/12", "../../etc", "", "f:abc")]
    assert ids[:2] == ["rb_12", "rb_12-2"] and ids[3] == "track"
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids) and len(set(ids)) == len(ids)


def test_track_round_trips_through_the_store_losslessly(tmp_path: Path) -> None:
    """Every grid marker, cue, phrase and JSON extra survives the store (the report plans from it)."""
    grid = LibraryGrid((GridMarker(0.1, 128.0), GridMarker(60.1, 127.5, 3), GridMarker(120.2, 130.25)))
    t = Track("rb:7", tmp_path / "x.mp3", "rekordbox-xml", 300.0, 128.0, grid,
              (Cue("hot", 1.0, 2, None, "A", "#ff0000"), Cue("memory", 5.5, None, 9.5, "loop")),
              (Phrase(0.1, "intro", "Intro"), Phrase(30.2, "drop", "Chorus")), title="T", artist="Ar",
              extras={"location": "file://localhost/x.mp3", "mark_types": {1: "loop"}, "not_json": object()})
    with Store.open(tmp_path / "s.sqlite") as st:
        st.upsert_tracks("rekordbox-xml:/x.xml", [t])
        d = st.tracks()[0]
    back = Track.from_dict(d)
    assert back == t  # extras are not compared; check them apart
    assert back.extras == {"location": "file://localhost/x.mp3", "mark_types": {1: "loop"}}
    assert d["library"] == "rekordbox-xml:/x.xml"
    assert np.array_equal(back.grid.beats(200.0)[0], grid.beats(200.0)[0])  # type: ignore[union-attr]


# ------------------------------------------------------------------ HTML


def test_script_json_cannot_close_the_script_tag() -> None:
    s = script_json({"title": "</script><script>alert(1)</script> & co"})
    assert "</" not in s and "<" not in s and json.loads(s)["title"].startswith("</script>")


def test_pages_embed_their_data(tmp_path: Path) -> None:
    e = entry(tmp_path)
    page = dict(e.page, wave={"n": 2, "col_s": 32.0, "source": "audio", "note": "", "peak": [1, 2], "rms": [1, 1]},
                energy=None, title="<b>bold</b>")
    out = tmp_path / "report"
    write_assets(out)
    path = write_track_page(out, page)
    html = path.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="track-data">(.*?)</script>', html, re.S)
    assert blob is not None and json.loads(blob.group(1)) == page
    assert "<b>bold</b>" not in html.split("<script")[0]  # escaped in the markup
    assert f'src="{e.page["audio_url"]}"' in html and GENERATOR in html
    assert "window.DJSTRUCT_PALETTE" in (out / "assets" / "palette.js").read_text()
    index = write_index(out, [e.row], {"layout": "default", "libraries": ["x"], "library_errors": ["bad entry"]})
    text = index.read_text(encoding="utf-8")
    assert 'href="tracks/rb_1.html"' in text and "bad entry" in text and text.count("<tr data-status") == 1
    for ref in re.findall(r'(?:src|href)="([^"]+)"', text + html):  # nothing from the network
        assert not ref.startswith(("http:", "https:", "//"))


# ------------------------------------------------------------------ build + CLI


@pytest.fixture()
def store_with_tracks(tmp_path: Path) -> tuple[Path, Path]:
    from djstruct.audio.fingerprint import fingerprint

    lib = tmp_path / "lib"
    lib.mkdir()
    ok, gone, bad = (write_wav(lib / f"{n}.wav", 64.0) for n in ("ok", "gone", "bad"))
    store = tmp_path / "store.sqlite"
    with Store.open(store) as st:
        for p, conf in ((ok, 0.8), (gone, 0.3)):
            st.put_analysis(p, make_analysis(str(p), confidence=conf), "dsp", "1", fingerprint(p))
        st.put_error(bad, "cannot decode: broken", None)
        st.upsert_tracks(f"folder:{lib}", [Track(f"f:{p.stem}", p, "folder") for p in (ok, gone, bad)])
    gone.unlink()
    return store, tmp_path / "out"


def test_build_report_from_the_store(store_with_tracks: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from djstruct.report.build import ReportConfig, build_report

    store, out = store_with_tracks
    events: list[tuple[str, int, int | None]] = []
    res = build_report(ReportConfig(store_path=store, out_dir=out, workers=1), lambda *a: events.append(a))
    assert (res.tracks, res.pages, res.failed, res.missing, res.no_waveform) == (3, 2, 1, 1, 1)
    assert events[-1] == ("pages", 2, 2) and res.size_bytes > 0
    index = res.index.read_text(encoding="utf-8")
    order = re.findall(r'<tr data-status="(\w+)"', index)
    assert order == ["failed", "missing", "ok"]  # review first: failures, then lowest confidence
    gone = (out / "tracks" / "f_gone.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="track-data">(.*?)</script>', gone, re.S).group(1))  # type: ignore[union-attr]
    assert data["wave"]["source"] == "energy" and "not found" in data["wave"]["note"] and data["audio_url"] is None
    okp = json.loads(re.search(r'id="track-data">(.*?)</script>',  # type: ignore[union-attr]
                               (out / "tracks" / "f_ok.html").read_text(encoding="utf-8"), re.S).group(1))
    assert okp["wave"]["source"] == "audio" and okp["wave"]["n"] == 1500 and len(okp["energy"]["bass"]) == 1500
    # rebuilding over itself is fine, and unchanged files are not decoded again (the waveform cache)
    import djstruct.report.build as build_mod

    monkeypatch.setattr(build_mod, "envelope_job", lambda *a: pytest.fail("decoded a cached file"))
    res2 = build_report(ReportConfig(store_path=store, out_dir=out, workers=1))
    assert res2.pages == 2 and res2.no_waveform == 1
    assert (out / "tracks" / "f_ok.html").read_text(encoding="utf-8").count('"source":"audio"') == 1


def test_report_cli(store_with_tracks: tuple[Path, Path], tmp_path: Path) -> None:
    store, out = store_with_tracks
    r = CliRunner().invoke(cli, ["report", "--store", str(store), "--out", str(out)])
    assert r.exit_code == 1, r.output  # the pages are written, but one track failed: like every other command
    assert "3 tracks" in r.output and str((out / "index.html").resolve()) in r.output
    r = CliRunner().invoke(cli, ["report", str(tmp_path / "lib"), "--store", str(store), "--out", str(out),
                                 "--layout", "minimal"])
    assert r.exit_code == 1, r.output  # the failed track is in this folder too
    r = CliRunner().invoke(cli, ["report", "--store", str(tmp_path / "none.sqlite"), "--out", str(out)])
    assert r.exit_code == 2 and "no analysis store" in r.output
    foreign = tmp_path / "site"
    foreign.mkdir()
    (foreign / "index.html").write_text("<html>my own page</html>")
    r = CliRunner().invoke(cli, ["report", "--store", str(store), "--out", str(foreign)])
    assert r.exit_code == 2 and "not a djstruct report" in r.output
    assert (foreign / "index.html").read_text() == "<html>my own page</html>"


def test_analyze_plot_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from djstruct.report.draw import page_from_analysis, plot_analysis

    p = write_wav(tmp_path / "x.wav", 64.0)
    a = make_analysis(str(p))
    png = plot_analysis(a, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    page = page_from_analysis(a, tmp_path / "missing.wav")
    assert page["wave"]["source"] == "energy"


def test_analyze_plot_cli(short_corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    flac = next(short_corpus.glob("*.flac"))
    r = CliRunner().invoke(cli, ["analyze", str(flac), "--plot", str(tmp_path / "a.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
