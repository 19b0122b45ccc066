"""Harvesting the DJ's cues as labels: names, heuristics, tiers, label issues, CLI; read-only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.train.harvest import HarvestedTrack, label_from_name
from djstruct.train.label_issues import confident_issues
from djstruct.train.tiers import check_cues, tier_track
from djstruct.types import Cue, GridMarker, LibraryGrid, Track


@pytest.mark.parametrize("name,label", [
    ("Drop 1", "drop"), ("DROP", "drop"), ("d2", "drop"), ("Build", "buildup"), ("buildup 2", "buildup"),
    ("BU", "buildup"), ("Riser", "buildup"), ("Breakdown", "breakdown"), ("BD", "breakdown"), ("brk", "breakdown"),
    ("Intro", "intro"), ("Mix in", "intro"), ("Outro", "outro"), ("mix out", "outro"), ("vocal", None), ("", None),
])
def test_label_from_name(name: str, label: str | None) -> None:
    assert label_from_name(name) == label


def item(cues: list[Cue], bpm: float = 128.0, first: float = 1.0) -> HarvestedTrack:
    grid = LibraryGrid((GridMarker(first, bpm, 1),))
    t = Track("rbx:1", Path("/x.wav"), "rekordbox-xml", 300.0, bpm, grid, tuple(cues))
    beats, pos = grid.beats(300.0)
    return HarvestedTrack(t, "rekordbox-xml:/x.xml", beats, beats[pos == 1], tuple(cues),
                          tuple(label_from_name(c.name) for c in cues), None)


def test_heuristic_flags_and_tiers() -> None:
    bar = 240.0 / 128.0
    cues = [Cue("memory", 0.0, name="load"), Cue("memory", 1.0 + 8 * bar, name="Build 1"),
            Cue("memory", 1.0 + 16 * bar + 0.12, name="Drop 1"), Cue("memory", 1.0 + 16 * bar + 0.2, name="dup"),
            Cue("memory", 1.0 + 24 * bar + 60.0 / 128.0 * 2, name="far"),
            Cue("memory", 1.0 + 32 * bar, end_s=1.0 + 33 * bar, name="loop")]
    checks = {c.cue.name: c.flags for c in check_cues(item(cues))}
    assert "load_cue" in checks["load"]
    assert checks["Build 1"] == ()
    assert "off_grid" in checks["Drop 1"]
    assert "duplicate" in checks["dup"]
    assert "far_from_downbeat" in checks["far"]
    assert "loop" in checks["loop"]
    assert tier_track(item(cues), None).tier == 3
    clean = [Cue("memory", 1.0 + k * bar, name=f"c{k}") for k in (8, 16, 32)]
    assert tier_track(item(clean), None).tier == 2
    assert tier_track(item(clean), None, verified={"rbx:1"}).tier == 1


def test_confident_issues_rule() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    p1 = np.array([0.9, 0.95, 0.1, 0.02, 0.05, 0.99, 0.6])
    assert sorted(confident_issues(labels, p1).tolist()) == [2, 5]


@pytest.fixture()
def dj_library(short_corpus: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    import shutil

    from djstruct.synth.library import Noise, write_dj_library

    corpus = tmp_path / "corpus"
    shutil.copytree(short_corpus, corpus)
    store = tmp_path / "store.sqlite"
    r = CliRunner().invoke(cli, ["scan", str(corpus), "--store", str(store)])
    assert r.exit_code == 0, r.output
    xml = tmp_path / "rekordbox.xml"
    write_dj_library(corpus, xml, noise=Noise(off_grid=0.3, shifted=0.1, spurious=0.1), seed=3)
    return corpus, xml, store


def test_labels_check_cli_is_read_only(dj_library: tuple[Path, Path, Path], tmp_path: Path) -> None:
    corpus, xml, store = dj_library
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in [xml, *corpus.iterdir()]}
    csv_path = tmp_path / "issues.csv"
    r = CliRunner().invoke(cli, ["labels", "check", "--rekordbox-xml", str(xml), "--store", str(store), "--json",
                                 "--csv", str(csv_path)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and all(set(d) == {"path", "cue_time", "issue", "suggested_time", "score"} for d in rows)
    assert {d["issue"] for d in rows} <= {"off_grid", "shifted", "spurious", "missing"}
    assert any(d["issue"] == "off_grid" for d in rows)
    assert csv_path.read_text().count("\n") == len(rows) + 1
    r = CliRunner().invoke(cli, ["labels", "check", "--rekordbox-xml", str(xml), "--store", str(store),
                                 "--csv", str(csv_path)])
    assert r.exit_code == 0 and "tracks with cues and a grid" in r.output
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in [xml, *corpus.iterdir()]}
    assert after == before  # nothing in the DJ's library is modified


def test_labels_review_marks_tier_one(dj_library: tuple[Path, Path, Path], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, xml, store = dj_library
    monkeypatch.setenv("DJSTRUCT_REVIEW_FILE", str(tmp_path / "reviewed.json"))
    audio = sorted(p for p in corpus.iterdir() if p.suffix != ".json")[0]
    r = CliRunner().invoke(cli, ["labels", "review", str(audio)])
    assert r.exit_code == 0 and "1 tracks marked" in r.output
    from djstruct.library import LibrarySource
    from djstruct.train.check import check_library

    res = check_library([LibrarySource("rekordbox-xml", xml)], store)
    assert res.tier_counts()[1] == 1


def test_harvest_skips_with_reasons(tmp_path: Path) -> None:
    from djstruct.library import LibrarySource
    from djstruct.train.harvest import HarvestSkip, harvest

    xml = tmp_path / "r.xml"
    xml.write_text('<?xml version="1.0" encoding="UTF-8"?><DJ_PLAYLISTS Version="1.0.0"><COLLECTION Entries="2">'
                   '<TRACK TrackID="1" Location="file://localhost/nope/a.mp3"/>'
                   '<TRACK TrackID="2" Location="file://localhost/nope/b.mp3">'
                   '<POSITION_MARK Name="Drop" Type="0" Start="1.000" Num="-1"/></TRACK></COLLECTION></DJ_PLAYLISTS>')
    reasons = [h.reason for h in harvest([LibrarySource("rekordbox-xml", xml)]) if isinstance(h, HarvestSkip)]
    assert reasons == ["no cues", "cues but no beat grid (analyse the track in your DJ software)"]


def test_eval_from_library(dj_library: tuple[Path, Path, Path]) -> None:
    corpus, xml, store = dj_library
    r = CliRunner().invoke(cli, ["eval", "--from-library", "--rekordbox-xml", str(xml), "--store", str(store),
                                 "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["groups"]["all"]["tracks"] == 3
    assert 0.0 <= rep["groups"]["all"]["f_beat"] <= 1.0
    assert any(g.startswith("genre: ") for g in rep["groups"])
    # the DJ's cues sit on every section start: djstruct's plan agrees with most of them
    assert rep["groups"]["all"]["f_beat"] > 0.5


def _bar_track(cue_bars: list[float], bar: float, first: float = 1.0) -> HarvestedTrack:
    return item([Cue("memory", first + b * bar, name=f"c{b}") for b in cue_bars], first=first)


def test_context_features_share_of_the_phrase_grid() -> None:
    from djstruct.train.label_issues import PHRASES, context_features
    from djstruct.types import Analysis

    y = np.zeros(80, dtype=np.int64)
    y[[0, 16, 32, 48]] = 1
    down = np.arange(80) * 1.875
    a = Analysis("x", 160.0, 128.0, (), tuple(down), (), (), None, "ml")
    f = context_features(y, down, a, 60.0 / 128.0)
    g8 = 1 + PHRASES.index(8)
    assert f[0, 0] == 1 and f[1:, 0].sum() == 0  # the first downbeat
    assert f[64, g8] == 1.0 and f[17, g8] == 0.0  # a downbeat on the cues' 8-bar grid, one a bar off
    assert f[32, g8] == 1.0  # a cue's own label is left out: the other three are on its grid
    assert f[24, 1 + PHRASES.index(16)] == 0.0 and f[24, g8] == 1.0
    assert np.all(f[:, -1] == 0)  # no energy: no energy change


def _analysis(path: str, bar: float, first: float, start_bars: list[int]):  # type: ignore[no-untyped-def]
    from djstruct.types import Analysis, Section

    labels = ["intro", "breakdown", "buildup", "drop", "outro"]
    edges = [*start_bars, 88]
    secs = tuple(Section(first + a * bar, first + b * bar, lab) for a, b, lab in zip(edges, edges[1:], labels,
                                                                                       strict=False))
    down = tuple(first + i * bar for i in range(88))
    return Analysis(path, first + 88 * bar, 128.0, tuple(first + i * bar / 4 for i in range(352)), down, secs,
                    (first + 40 * bar,), None, "ml")


def test_a_cue_on_the_djs_phrase_grid_is_not_called_spurious(monkeypatch: pytest.MonkeyPatch) -> None:
    """The detector misses a boundary the DJ cued (bar 64 of one track, 80 of another, on the DJ's
    8-bar grid):
    not a label error. A cue shifted by one bar (33 for 32) is, and the fix is the true bar."""
    from dataclasses import replace

    from djstruct.train import label_issues as li

    bar = 240.0 / 128.0
    checks, analyses = [], {}
    for k in range(10):
        first = 1.0 + 0.1 * k
        cues = [0, 16, 32, 40, 72] + {0: [64], 1: [80]}.get(k, [])
        if k == 5:
            cues[2] = 33
        it = _bar_track(cues, bar, first)
        it = replace(it, track=replace(it.track, path=Path(f"/t{k}.wav")))
        analyses[f"/t{k}.wav"] = _analysis(f"/t{k}.wav", bar, first, [0, 16, 32, 40, 72])
        checks.append(tier_track(it, analyses[f"/t{k}.wav"], set()))
    found = li.find_label_issues(checks, analyses)

    def bars_of(kind: str, path: str) -> list[float]:
        first = 1.0 + 0.1 * int(path[2])
        return [round((i.cue_time - first) / bar, 2) for i in found if i.issue == kind and i.path == path]

    shifted = [i for i in found if i.issue == "shifted"]
    assert [(i.path, round((i.cue_time - 1.5) / bar, 2)) for i in shifted] == [("/t5.wav", 33.0)]
    assert shifted[0].suggested_time == pytest.approx(1.5 + 32 * bar)
    assert bars_of("spurious", "/t0.wav") == [] and bars_of("spurious", "/t1.wav") == []
    monkeypatch.setattr(li, "ON_PHRASE", 1.01)  # without the phrase-grid rule the classifier calls them spurious
    found = li.find_label_issues(checks, analyses)
    assert bars_of("spurious", "/t0.wav") == [64.0] and bars_of("spurious", "/t1.wav") == [80.0]


def test_a_load_cue_downbeat_is_no_candidate() -> None:
    from djstruct.train.label_issues import build_candidates

    bar = 240.0 / 128.0
    it = item([Cue("memory", 0.0, name="load")] + [Cue("memory", 0.2 + b * bar, name="x") for b in (16, 32)],
              first=0.2)
    a = _analysis("/x.wav", bar, 0.2, [0, 16, 32, 40, 72])
    c = build_candidates(tier_track(it, a, set()), a)
    assert c.times[0] == pytest.approx(0.2 + bar)  # the load cue's downbeat is left out, not labelled "no cue"
    assert int(c.y.sum()) == 2 and len(c.phrase) == len(c.y)
