"""Streaming tracks in a rekordbox XML export: counted in one log line, listed only when asked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from djstruct.library.rekordbox.xml import read_xml, streaming_kind

XML = """<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox" Version="6.6.1" Company="AlphaTheta"/>
<COLLECTION Entries="4">
<TRACK TrackID="1" Name="Local" Location="file://localhost/Users/dj/a.mp3"/>
<TRACK TrackID="2" Name="SC" Kind="SoundCloud" Location="soundcloud:tracks:123456">
<TEMPO Inizio="0.1" Bpm="128.00" Metro="4/4" Battito="1"/></TRACK>
<TRACK TrackID="3" Name="BP" Location="file://localhost/beatport:tracks:987"/>
<TRACK TrackID="4" Name="TD" Location="tidal:tracks:5"/>
</COLLECTION></DJ_PLAYLISTS>
"""


def test_streaming_kind() -> None:
    assert streaming_kind("soundcloud:tracks:1") == "soundcloud"
    assert streaming_kind("file://localhost/beatport:tracks:987") == "beatport"
    assert streaming_kind("file://localhost/Users/dj/Beatport/a.mp3") is None
    assert streaming_kind("file://localhost/C:/soundcloud/x.mp3") is None


def test_streaming_tracks_left_out_or_listed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "rb.xml"
    f.write_text(XML, encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="djstruct.library.rekordbox.xml"):
        local = read_xml(f)
    assert [t.title for t in local] == ["Local"]
    lines = [r.getMessage() for r in caplog.records if "streaming" in r.getMessage()]
    assert len(lines) == 1 and "3 streaming tracks" in lines[0]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    listed = read_xml(f, include_streaming=True)
    assert [(t.title, t.extras.get("streaming")) for t in listed] == [
        ("Local", None), ("SC", "soundcloud"), ("BP", "beatport"), ("TD", "tidal")]
    sc = listed[1]
    assert not sc.exists and sc.to_dict()["exists"] is False and sc.grid is not None
