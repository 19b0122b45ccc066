"""Writeback policies and hot-cue rules of the pure diff, and the rekordbox/Serato rows of the timeline
crossing (djstruct.timing), on files made by real encoders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from djstruct import timing
from djstruct.cues.diff import diff_cues
from djstruct.cues.plan import CuePlan, PlannedCue
from djstruct.types import Cue

RATE = 44100


def _plan(*cues: Cue) -> CuePlan:
    return CuePlan("t.mp3", tuple(PlannedCue(c, i + 1, "test") for i, c in enumerate(cues)), "analysis")


USER_HOT = Cue("hot", 10.0, 0, None, "my cue")
USER_LOOP = Cue("hot", 40.0, 1, 48.0, "my loop")
OURS = Cue("hot", 60.0, 2, None, "Drop 1")
PLANNED = Cue("hot", 90.0, 3, None, "Breakdown")


def _actions(d, action: str) -> list[Cue]:  # type: ignore[no-untyped-def]
    return [c.cue for c in d.changes if c.action == action]


def test_fill_never_removes_a_cue() -> None:
    d = diff_cues([USER_HOT, USER_LOOP, OURS], _plan(PLANNED), policy="fill", owned=[OURS])
    assert _actions(d, "remove") == []
    assert set(_actions(d, "keep")) == {USER_HOT, USER_LOOP, OURS}
    assert [c.start_s for c in _actions(d, "add")] == [90.0]


def test_replace_own_removes_only_djstructs_cues() -> None:
    d = diff_cues([USER_HOT, USER_LOOP, OURS], _plan(PLANNED), policy="replace-own", owned=[OURS])
    assert _actions(d, "remove") == [OURS]
    assert set(_actions(d, "keep")) == {USER_HOT, USER_LOOP}


def test_replace_all_keeps_loops_only() -> None:
    d = diff_cues([USER_HOT, USER_LOOP, OURS], _plan(PLANNED), policy="replace-all", owned=[OURS])
    assert set(_actions(d, "remove")) == {USER_HOT, OURS}
    assert _actions(d, "keep") == [USER_LOOP]


def test_a_planned_cue_already_there_is_neither_removed_nor_added() -> None:
    for policy in ("fill", "replace-own", "replace-all"):
        d = diff_cues([OURS], _plan(OURS), policy=policy, owned=[OURS])
        assert not d.changed, policy


def test_hot_cue_rules() -> None:
    near = Cue("hot", 10.2, 5, None, "Intro")  # within one beat (0.5 s) of the DJ's hot cue
    d = diff_cues([USER_HOT], _plan(near), beat_s=0.5)
    assert [c.reason for c in d.changes if c.action == "skip"] == ["an existing hot cue is within one beat"]
    taken = Cue("hot", 30.0, 0, None, "Build")  # wants slot A, the DJ's: goes to the first free slot
    d = diff_cues([USER_HOT], _plan(taken))
    assert [c.slot for c in _actions(d, "add")] == [1]
    full = [Cue("hot", 100.0 + 10 * i, i, None, f"u{i}") for i in range(8)]
    d = diff_cues(full, _plan(Cue("hot", 5.0, 0, None, "Start")))
    assert [c.reason for c in d.changes if c.action == "skip"] == ["no free hot-cue slot"]
    mem = Cue("memory", 20.0, None, None, "Drop 1")
    d = diff_cues([], _plan(mem), memory_supported=False)
    assert _actions(d, "add") == []


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import soundfile as sf

    from djstruct.synth.encode import encode

    d = tmp_path_factory.mktemp("enc")
    x = (0.2 * np.sin(2 * np.pi * 440 * np.arange(RATE * 2) / RATE)).astype(np.float32)
    out = {"lame": d / "lame.mp3", "noxing": d / "noxing.mp3", "m4a": d / "a.m4a"}
    sf.write(out["lame"], x, RATE, format="MP3")
    encode(x, RATE, out["noxing"], "mp3-noxing")
    encode(x, RATE, out["m4a"], "m4a")
    return out


def test_rekordbox_and_serato_offsets(encoded: dict[str, Path]) -> None:
    assert timing.offset_s(encoded["noxing"], "rekordbox") == pytest.approx(1105 / RATE)
    assert timing.offset_s(encoded["lame"], "rekordbox") == 0.0
    assert timing.offset_s(encoded["m4a"], "rekordbox") == 0.0
    for p in encoded.values():
        assert timing.offset_s(p, "serato") == 0.0


def test_cues_cross_the_timeline_both_ways(encoded: dict[str, Path]) -> None:
    off = timing.offset_s(encoded["noxing"], "rekordbox")
    c = Cue("hot", 12.3456, 2, 20.0, "Drop 1")
    app = timing.cue_to_app(c, off, "rekordbox")
    assert app.start_s == pytest.approx(12.3456 + 1105 / RATE) and app.end_s == pytest.approx(20.0 + 1105 / RATE)
    back = timing.cue_from_app(app, off)
    assert back.start_s == pytest.approx(c.start_s) and back.end_s == pytest.approx(c.end_s)
    assert timing.cue_to_app(c, 0.0, "serato").start_s == 12.346  # Serato keeps whole milliseconds
