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
