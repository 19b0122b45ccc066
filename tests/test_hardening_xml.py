"""Hostile Rekordbox XML (issue 15, cases 2, 4, 5, 6, 11, 12): marks and attributes the reader does
not understand are copied through unchanged, bad numbers never reach a table or a JSON line, and a
broken export is one error line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hardening_lib import assert_clean, invoke, make_library, rekordbox_xml, sha, strict_json

from djstruct.errors import LibraryError
from djstruct.library.rekordbox.xml import read_xml
from djstruct.library.rekordbox.xml_write import write_xml
from djstruct.types import Cue

# Marks djstruct cannot read (case 2), and marks with a start that is no time (cases 5, 11).
UNREADABLE = ['<POSITION_MARK Name="zz" Type="0" Start="1.000" Num="zz"/>',
              '<POSITION_MARK Name="no start" Type="0" Num="-1"/>',
              '<POSITION_MARK Name="comma" Type="0" Start="3,5" Num="-1"/>',
              '<POSITION_MARK/>',
              '<POSITION_MARK Name="huge" Type="0" Start="1e400" Num="1"/>',
              '<POSITION_MARK Name="nan" Type="0" Start="nan" Num="-1"/>',
              '<POSITION_MARK Name="inf" Type="4" Start="inf" End="2.0" Num="-1"/>',
              '<POSITION_MARK Name="neg" Type="0" Start="-5" Num="-1"/>',
              '<POSITION_MARK Name="bad end" Type="4" Start="1.000" End="nan" Num="-1"/>',
              '<POSITION_MARK Name="slot 9" Type="0" Start="1.000" Num="9"/>',
              '<POSITION_MARK Name="red" Type="0" Start="1.000" Num="-1" Red="x" Green="0" Blue="0"/>']
GOOD = '<POSITION_MARK Name="mine" Type="0" Start="1.500" Num="-1"/>'


@pytest.fixture()
def lib(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    return make_library(tmp_path)


def test_unreadable_marks_are_copied_through_and_the_rest_written(lib: tuple[Path, Path, list[Path]],
                                                                   tmp_path: Path) -> None:
    """Cases 2 and 11: a warning for each mark, then every one of them in the new XML unchanged,
    the DJ's good mark kept, djstruct's cues added, the export itself untouched."""
    _, store, files = lib
    xml = rekordbox_xml(tmp_path / "rb.xml", files, {1: "".join(UNREADABLE) + GOOD})
    before = sha(xml)
    out = tmp_path / "import.xml"
    r = invoke("writeback", "--rekordbox-xml", xml, "--store", store, "--out", out)
    assert_clean(r, 0)
    assert "wrote 3 of 3" in r.output
    text = out.read_text(encoding="utf-8")
    for mark in UNREADABLE:
        assert text.count(mark) == 1, mark
    assert sha(xml) == before
    track = next(t for t in read_xml(out) if t.id == "rbx:1")
    assert any(c.name == "mine" for c in track.cues)
    ours = [c for c in track.cues if c.name.split(" ")[0] in ("Start", "Drop", "Build", "Break", "Outro")]
    assert ours, [c.name for c in track.cues]  # djstruct's cues are there (Start may yield to "mine" at 1.5 s)


def test_reader_skips_marks_that_are_no_time(tmp_path: Path, lib: tuple[Path, Path, list[Path]]) -> None:
    _, _, files = lib
    xml = rekordbox_xml(tmp_path / "rb.xml", files, {1: "".join(UNREADABLE) + GOOD})
    (track, *_) = read_xml(xml)
    assert [c.name for c in track.cues] == ["mine"]


@pytest.mark.parametrize("start", ["1e400", "nan", "inf", "-5", "-inf"])
def test_bad_start_in_dry_run_library_and_report(start: str, lib: tuple[Path, Path, list[Path]],
                                                 tmp_path: Path) -> None:
    """Case 5: no ValueError in the dry-run table (fmt_time), the library table or the report."""
    _, store, files = lib
    xml = rekordbox_xml(tmp_path / "rb.xml", files, {1: f'<POSITION_MARK Name="m" Type="0" Start="{start}" Num="-1"/>'})
    for args in (["writeback", "--rekordbox-xml", xml, "--store", store, "--dry-run"],
                 ["library", "--rekordbox-xml", xml],
                 ["report", "--rekordbox-xml", xml, "--store", store, "--out", tmp_path / "report"]):
        assert_clean(invoke(*args), 0)


@pytest.mark.parametrize(("inizio", "bpm"), [("nan", "120"), ("0.1", "nan"), ("1e308", "120"), ("0.1", "1e308"),
                                             ("0.1", "1e26"), ("-1e308", "120"), ("0.1", "-120"), ("x", "120")])
def test_bad_tempo_is_ignored_everywhere(inizio: str, bpm: str, lib: tuple[Path, Path, list[Path]],
                                         tmp_path: Path) -> None:
    """Case 6 (already held after the grid refactor): the TEMPO is ignored, every command runs."""
    _, store, files = lib
    tempo = f'<TEMPO Inizio="{inizio}" Bpm="{bpm}" Metro="4/4" Battito="1"/>'
    xml = rekordbox_xml(tmp_path / "rb.xml", files, tempo=tempo)
    assert all(t.grid is None for t in read_xml(xml))
    for args in (["writeback", "--rekordbox-xml", xml, "--store", store, "--dry-run"],
                 ["writeback", "--rekordbox-xml", xml, "--store", store, "--dry-run", "--json"],
                 ["library", "--rekordbox-xml", xml, "--json"],
                 ["report", "--rekordbox-xml", xml, "--store", store, "--out", tmp_path / "report"],
                 ["writeback", "--rekordbox-xml", xml, "--store", store, "--out", tmp_path / "out.xml"]):
        assert_clean(invoke(*args), 0)


def test_unknown_encoding_is_one_line_naming_the_file(lib: tuple[Path, Path, list[Path]], tmp_path: Path) -> None:
    """Case 4: LookupError from the parser becomes a LibraryError; every command says so in one line."""
    lib_dir, store, files = lib
    xml = rekordbox_xml(tmp_path / "rb.xml", files, encoding="X-NOPE-99")
    with pytest.raises(LibraryError, match="X-NOPE-99"):
        read_xml(xml)
    with pytest.raises(LibraryError, match="X-NOPE-99"):
        write_xml(tmp_path / "o.xml", {"rbx:1": [Cue("memory", 1.0)]}, base_xml=xml)
    for args in (["library", "--rekordbox-xml", xml],
                 ["writeback", "--rekordbox-xml", xml, "--store", store, "--dry-run"],
                 ["report", "--rekordbox-xml", xml, "--store", store, "--out", tmp_path / "report"]):
        r = invoke(*args)
        assert_clean(r, 1)
        assert str(xml) in r.output and "X-NOPE-99" in r.output
    # the batch goes on: the folder given with it is still read
    r = invoke("library", lib_dir, "--rekordbox-xml", xml, "--json")
    assert_clean(r, 1)
    assert len([ln for ln in r.stdout.splitlines() if ln.startswith("{")]) == 3


@pytest.mark.parametrize("attrs", ['TotalTime="1e400" AverageBpm="inf"', 'TotalTime="nan" AverageBpm="-inf"',
                                   'TotalTime="-4" AverageBpm="1e308"', 'TotalTime="x" AverageBpm="y"'])
def test_json_lines_are_strict_json(attrs: str, lib: tuple[Path, Path, list[Path]], tmp_path: Path) -> None:
    """Case 12: `library --json` and `writeback --json` never print NaN or Infinity."""
    _, store, files = lib
    marks = {1: '<POSITION_MARK Name="m" Type="0" Start="1e400" Num="-1"/>'
                '<POSITION_MARK Type="4" Start="1" End="inf"/>'}
    xml = rekordbox_xml(tmp_path / "rb.xml", files, marks, track_attrs=attrs)
    for args in (["library", "--rekordbox-xml", xml, "--json"],
                 ["writeback", "--rekordbox-xml", xml, "--store", store, "--dry-run", "--json"]):
        r = invoke(*args)
        assert_clean(r, 0)
        lines = r.stdout.splitlines()
        assert len(lines) == 3
        rows = [strict_json(line) for line in lines]
        assert all(row["path"] for row in rows)
    track = read_xml(xml)[0]
    assert track.duration_s is None and track.bpm is None


def test_tiny_negative_start_after_timing_round_trip_is_written(tmp_path: Path) -> None:
    """A cue at 0 s on an MP3 without a LAME header crosses to djstruct's timeline (-25 ms) and back:
    float error may leave -1e-17 s, which must not refuse the whole XML."""
    from djstruct.types import Track

    track = Track("t", tmp_path / "a.wav", "folder")
    out = tmp_path / "o.xml"
    write_xml(out, {"t": [Cue("memory", -1e-12), Cue("hot", 0.0, 0)]}, tracks=[track])
    assert [c.start_s for c in read_xml(out)[0].cues] == [0.0, 0.0]


def test_fade_and_load_marks_are_not_written_again_as_cues(lib: tuple[Path, Path, list[Path]],
                                                            tmp_path: Path) -> None:
    """Found with case 2: fade-in/out and load marks (Type 1-3) were kept *and* written again as
    Type 0 memory cues. Now each stays once, as it was."""
    _, store, files = lib
    foreign = ['<POSITION_MARK Name="fade" Type="1" Start="0.500" Num="-1"/>',
               '<POSITION_MARK Name="out" Type="2" Start="3.500" Num="-1"/>',
               '<POSITION_MARK Name="load" Type="3" Start="0.700" Num="-1"/>',
               '<POSITION_MARK Name="odd" Type="5" Start="0.900" Num="-1"/>']
    xml = rekordbox_xml(tmp_path / "rb.xml", files, {1: "".join(foreign)})
    out = tmp_path / "import.xml"
    assert_clean(invoke("writeback", "--rekordbox-xml", xml, "--store", store, "--out", out), 0)
    text = out.read_text(encoding="utf-8")
    for mark in foreign:
        assert text.count(mark) == 1, mark
    for name in ("fade", "out", "load", "odd"):
        assert text.count(f'Name="{name}"') == 1, name


def test_strict_dumps_writes_null_for_non_finite_numbers() -> None:
    import numpy as np

    from djstruct.jsonout import dumps

    line = dumps({"a": float("nan"), "b": [np.float32("inf"), -float("inf"), 1.5], "c": (np.float64(2.0),)})
    assert strict_json(line) == {"a": None, "b": [None, None, 1.5], "c": [2.0]}
