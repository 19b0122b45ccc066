"""The tracker-module benchmark's truth: a hand-built ProTracker module rendered through libopenmpt
(skipped where Debian's libopenmpt0 is absent), the grid rules, the bar-phase score, licences."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_tracker import bar_phase, same_tempo  # noqa: E402
from tracker_corpus import licence_for  # noqa: E402
from tracker_openmpt import BLOCK_FRAMES, OpenMptError, Rendering, RowEvent  # noqa: E402
from tracker_truth import derive_grid, it_highlight  # noqa: E402

SR = 44100
ROW_FRAMES = 6 * 882  # speed 6, tempo 125: 6 ticks of 2.5/125 s = 5292 frames at 44.1 kHz


def make_mod(patterns: list[dict[int, tuple[int, int, int]]], order: list[int]) -> bytes:
    """A 4-channel M.K. module: ``patterns[i][row] = (sample, effect, param)`` on channel 0 (note C-3),
    sample 1 a 400-frame click, tempo 125 set on row 0 of the first pattern (channel 1)."""
    click = (np.sin(np.arange(400) / 3.0) * np.exp(-np.arange(400) / 80) * 120).astype(np.int8).tobytes()
    head = b"test".ljust(20, b"\0")
    head += b"click".ljust(22, b"\0") + struct.pack(">HBBHH", len(click) // 2, 0, 64, 0, 1)
    head += (b"\0" * 22 + struct.pack(">HBBHH", 0, 0, 0, 0, 1)) * 30
    head += bytes([len(order), 127]) + bytes(order).ljust(128, b"\0") + b"M.K."
    body = b""
    for pi, pat in enumerate(patterns):
        for row in range(64):
            cells = [b"\0\0\0\0"] * 4
            if row in pat:
                s, fx, prm = pat[row]
                period = 428 if s else 0
                cells[0] = bytes([(s & 0xF0) | (period >> 8), period & 0xFF, ((s & 0x0F) << 4) | fx, prm])
            if pi == 0 and row == 0:
                cells[1] = bytes([0, 0, 0x0F, 125])
            body += b"".join(cells)
    return head + body + click


def render(data: bytes) -> Rendering:
    from tracker_openmpt import Module

    try:
        with Module(data, "test.mod") as m:
            return m.render(SR, 60.0)
    except OpenMptError as e:
        pytest.skip(str(e))


def test_rows_beats_and_audio_line_up_through_libopenmpt() -> None:
    beat_rows = {r: (1, 0, 0) for r in range(0, 64, 4)}
    beat_rows[0] = (1, 0x0F, 6)
    r = render(make_mod([beat_rows], [0, 0]))
    starts = np.array([e.frame for e in r.rows])
    assert len(r.rows) == 128
    assert np.all(np.abs(starts - np.arange(128) * ROW_FRAMES) < BLOCK_FRAMES)
    g = derive_grid(r)
    assert g.bpm == pytest.approx(125.0, abs=0.01) and g.rows_per_beat == 4 and g.irregular_bars == 0
    assert len(g.beats_s) == 32 and len(g.downbeats_s) == 8
    assert np.allclose(np.diff(g.downbeats_s), 1.92, atol=0.001)
    # each click starts where its beat does (libopenmpt adds no latency)
    mono = np.abs(r.audio[:, 0])
    onsets = [int(np.flatnonzero(mono[int(b * SR):] > 1e-3)[0]) for b in g.beats_s[:-1]]
    assert max(onsets) < 0.001 * SR


def test_pattern_break_off_the_bar_is_counted_irregular() -> None:
    p0 = {0: (1, 0x0F, 6), 40: (0, 0x0D, 0)}  # break after row 40: 41 rows, a bar of 9 rows at the end
    p1 = {r: (1, 0, 0) for r in range(0, 64, 4)}
    r = render(make_mod([p0, p1], [0, 1]))
    g = derive_grid(r)
    assert [e.row for e in r.rows[:42]] == [*range(41), 0]
    assert g.irregular_bars == 1


def _fake(rows_per_pattern: int, n_patterns: int, row_s: float) -> Rendering:
    evs, i = [], 0
    for p in range(n_patterns):
        for row in range(rows_per_pattern):
            evs.append(RowEvent(int(round(i * row_s * SR)), p, p, row, 3, 125, 0.0))
            i += 1
    audio = np.full((int(i * row_s * SR), 2), 0.1, dtype=np.float32)
    return Rendering(audio, SR, evs)


def test_fast_rows_double_the_rows_per_beat() -> None:
    g = derive_grid(_fake(64, 4, 0.06))  # 4 rows/beat would be 250 BPM
    assert g.rows_per_beat == 8 and g.rows_per_bar == 32 and g.bpm == pytest.approx(125.0, rel=1e-3)
    assert len(g.downbeats_s) == 8


def test_it_highlight_read_from_header() -> None:
    hdr = bytearray(b"IMPM" + b"\0" * 60)
    hdr[0x1E], hdr[0x1F] = 4, 12
    assert it_highlight(bytes(hdr)) == (4, 12)
    assert it_highlight(b"Extended Module: x" + b"\0" * 60) is None


def test_bar_phase_names_the_beat_the_downbeats_sit_on() -> None:
    beats = np.arange(64) * 0.5
    downs = beats[::4]
    assert bar_phase(beats, downs, downs) == "1"
    assert bar_phase(beats, downs, beats[2::4]) == "3"
    assert bar_phase(beats, downs, downs + 0.25) == "off"
    assert bar_phase(beats, downs, np.array([])) == "-"


def test_same_tempo_octaves() -> None:
    assert same_tempo(126.0, 125.0, False) and not same_tempo(62.5, 125.0, False)
    assert same_tempo(62.5, 125.0, True) and not same_tempo(100.0, 125.0, True)


def test_licence_from_dep5_stanza_matching_the_installed_path() -> None:
    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            "Files: *\nCopyright: x\nLicense: GPL-3+\n\n"
            "Files: data/sounds/*\nCopyright: none\nLicense:\n Public Domain\n\n"
            "Files: sound/music.s3m\nCopyright: y\nLicense: public-domain\n")
    assert licence_for(text, "usr/share/game/sounds/game.mod") == "Public Domain"
    assert licence_for(text, "usr/share/games/x/sound/music.s3m") == "public-domain"
    assert licence_for(text, "usr/share/games/x/music/other.xm") == "GPL-3+"
    assert licence_for("This is free software under the GNU General Public License; either version 2 of the "
                       "License, or (at your option) any later version.", "a.mod") == "GPL-2+"
