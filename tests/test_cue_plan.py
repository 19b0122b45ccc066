"""Cue plans on hand-made grids: the first downbeat, hot-cue order and pinned slots, memory-cue
names, caps and minimum lengths, and library grids that disagree with djstruct's tempo (pure)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from djstruct.cues.diff import diff_cues
from djstruct.cues.grid import check_grid
from djstruct.cues.layout import parse_layout
from djstruct.cues.plan import load_layout, plan_cues
from djstruct.errors import ConfigError
from djstruct.types import Analysis, Cue, GridMarker, LibraryGrid, Section

BPM = 128.0
BEAT = 60.0 / BPM
BAR = 4 * BEAT


def track(parts: list[tuple[str, int]], *, pickup_beats: int = 0, bpm: float = BPM) -> Analysis:
    """An analysis whose first section starts at 0 s and whose first downbeat comes ``pickup_beats``
    beats later (a track that starts before its first downbeat); section lengths in bars."""
    beat, bar = 60.0 / bpm, 240.0 / bpm
    first = pickup_beats * beat
    n_bars = sum(b for _, b in parts)
    down = tuple(first + i * bar for i in range(n_bars + 1))
    beats = tuple(first + i * beat for i in range(4 * n_bars))
    t, sections = first, []
    for i, (label, bars) in enumerate(parts):
        start = 0.0 if i == 0 else t
        sections.append(Section(start, t + bars * bar, label))
        t += bars * bar
    drops = tuple(s.start_s for s in sections if s.label == "drop")
    return Analysis("t.mp3", t + 1.0, bpm, beats, down, tuple(sections), drops, None, "ml")


EDM = [("intro", 16), ("buildup", 8), ("drop", 16), ("breakdown", 16), ("buildup", 8), ("drop", 16), ("outro", 16)]


def test_start_is_on_the_first_downbeat_when_the_track_starts_three_beats_before_it() -> None:
    a = track(EDM, pickup_beats=3)
    assert a.sections[0].start_s == 0.0 and a.downbeats[0] == pytest.approx(3 * BEAT)
    plan = plan_cues(a, load_layout("default"))
    hot = {c.cue.name: c for c in plan.hot}
    assert hot["Start"].cue.start_s == pytest.approx(a.downbeats[0]) and hot["Start"].cue.slot == 0
    assert hot["Start"].bar == 1
    memory = [c.cue.name for c in plan.memory]
    assert memory == ["Intro", "Build 1", "Drop 1", "Break 1", "Build 2", "Drop 2", "Outro"]  # none lost
    assert plan.memory[0].cue.start_s == pytest.approx(a.downbeats[0])
    assert {"Drop 1", "Drop 2", "Break 1", "Outro", "Build 1", "Build 2"} <= set(hot)
    for c in plan.cues:  # every cue on a downbeat
        assert np.min(np.abs(np.asarray(a.downbeats) - c.cue.start_s)) < 1e-9


def test_default_hot_cues_are_in_time_order_and_a_user_cue_keeps_them_in_order() -> None:
    plan = plan_cues(track(EDM, pickup_beats=1), load_layout("default"))
    hot = sorted(plan.hot, key=lambda c: c.cue.slot)
    assert [c.cue.slot for c in hot] == list(range(len(hot))) and len(hot) == 7
    assert [c.cue.start_s for c in hot] == sorted(c.cue.start_s for c in hot)
    mine = Cue("hot", 100.0, 0, None, "Vocal", None)  # the DJ's own cue in A, far from any planned one
    diff = diff_cues([mine], plan, beat_s=BEAT)
    added = sorted((c for c in diff.changes if c.action == "add" and c.cue.kind == "hot"), key=lambda c: c.cue.slot)
    assert [c.cue.slot for c in added] == list(range(1, 8))  # B..H
    assert [c.cue.start_s for c in added] == sorted(c.cue.start_s for c in added)
    assert 'slot A is taken by your cue "Vocal"' in added[0].reason
    assert "taken" not in added[1].reason  # moved up behind it, not blocked by the user


def test_more_candidates_than_slots_keep_the_priority_then_sort_by_time() -> None:
    parts = [("intro", 8)] + [("buildup", 8), ("drop", 8), ("breakdown", 8)] * 4 + [("outro", 8)]
    plan = plan_cues(track(parts), load_layout("default"))
    names = [c.cue.name for c in sorted(plan.hot, key=lambda c: c.cue.slot)]
    assert len(names) == 8 and names[0] == "Start"
    assert {"Drop 1", "Drop 2", "Drop 3", "Drop 4", "Outro", "Break 1"} <= set(names)  # drops before builds
    times = [c.cue.start_s for c in sorted(plan.hot, key=lambda c: c.cue.slot)]
    assert times == sorted(times)


def test_fixed_slots_preset_and_a_slot_taken_by_the_dj() -> None:
    layout = load_layout("slots")
    a = track([("intro", 16), ("buildup", 8), ("drop", 16), ("buildup", 8), ("drop", 16), ("outro", 8)])
    plan = plan_cues(a, layout)
    by_slot = {"ABCDEFGH"[c.cue.slot]: c.cue.name for c in plan.hot}
    assert by_slot == {"A": "Start", "B": "Build 1", "C": "Drop 1", "E": "Drop 2", "F": "Build 2", "H": "Outro"}
    assert all(c.fixed for c in plan.hot)  # no breakdown: D and G stay empty
    mine = Cue("hot", 200.0, 2, None, "My drop", "#ffffff")
    diff = diff_cues([mine], plan, beat_s=BEAT)
    skip = [c for c in diff.changes if c.action == "skip"]
    assert [c.cue.name for c in skip] == ["Drop 1"]
    assert skip[0].reason == 'slot C is taken by your cue "My drop"'
    assert {c.cue.slot for c in diff.changes if c.action == "add" and c.cue.kind == "hot"} == {0, 1, 4, 5, 7}
    owned = diff_cues([mine], plan, beat_s=BEAT, owned=[mine])
    assert "a cue djstruct wrote before" in next(c.reason for c in owned.changes if c.action == "skip")


def test_slot_in_a_toml_layout_and_its_errors() -> None:
    base = {"hot": [{"at": "first_downbeat", "name": "Start"}, {"section": "drop", "which": "first", "slot": "C"}]}
    layout = parse_layout(base, "mine.toml")
    plan = plan_cues(track(EDM), layout)
    hot = {c.cue.name: c for c in plan.hot}
    assert hot["Drop 1"].cue.slot == 2 and hot["Drop 1"].fixed
    assert hot["Start"].cue.slot == 0 and not hot["Start"].fixed  # the loose ones take the other slots
    for bad, msg in [({"section": "drop", "slot": "C"}, "say which"), ({"section": "drop", "which": 1, "slot": "J"},
                     "A-H"), ({"section": "drop", "which": 0}, "counts from 1")]:
        with pytest.raises(ConfigError, match=msg):
            parse_layout({"hot": [bad]}, "bad.toml")
    with pytest.raises(ConfigError, match="pinned twice"):
        parse_layout({"hot": [{"section": "drop", "which": 1, "slot": "C"},
                              {"section": "drop", "which": 2, "slot": "c"}]}, "bad.toml")
    with pytest.raises(ConfigError, match="needs a slot"):
        parse_layout({"hot_cue_order": "slots", "hot": [{"section": "drop"}]}, "bad.toml")


def test_memory_names_are_unique_and_meaningful() -> None:
    parts = [("intro", 8), ("drop", 16), ("outro", 8), ("drop", 16), ("outro", 8), ("breakdown", 8),
             ("drop", 16), ("outro", 8)]
    names = [c.cue.name for c in plan_cues(track(parts), load_layout("default")).memory]
    assert names == ["Intro", "Drop 1", "Outro 1", "Drop 2", "Outro 2", "Break 1", "Drop 3", "Outro 3"]
    assert len(set(names)) == len(names)


def test_memory_cues_are_capped_by_the_layout_keeping_the_start_and_the_drops() -> None:
    layout = replace(load_layout("default"), max_memory_cues=4)
    plan = plan_cues(track(EDM), layout)
    assert [c.cue.name for c in plan.memory] == ["Intro", "Build 1", "Drop 1", "Drop 2"]  # kept by priority, by time
    assert [c.cue.start_s for c in plan.memory] == sorted(c.cue.start_s for c in plan.memory)
    assert len(plan_cues(track(EDM), load_layout("default")).memory) == 7 <= load_layout("default").max_memory_cues


def test_a_section_shorter_than_the_minimum_gets_no_cue() -> None:
    parts = [("intro", 16), ("drop", 16), ("breakdown", 2), ("drop", 16), ("outro", 8)]
    plan = plan_cues(track(parts), load_layout("default"))  # min_section_bars = 4
    names = [c.cue.name for c in plan.memory]
    assert "Break 1" not in names and not any(c.reason == "breakdown" for c in plan.hot)
    assert names == ["Intro", "Drop 1", "Drop 1 +18", "Outro"]  # the drop goes on past the 2-bar blip
    short_intro = plan_cues(track([("intro", 1), ("drop", 16), ("outro", 8)]), load_layout("default"))
    assert [c.cue.name for c in short_intro.memory][0] == "Intro"  # the opening always keeps its cue
    loose = plan_cues(track(parts), replace(load_layout("default"), min_section_bars=0))
    assert "Break 1" in [c.cue.name for c in loose.memory]


def grid_at(bpm: float, first: float = 0.0) -> LibraryGrid:
    g = LibraryGrid.checked([GridMarker(first, bpm, 1)])
    assert g is not None
    return g


def test_a_library_grid_that_disagrees_gets_no_cues_by_default() -> None:
    a = track(EDM, bpm=160.0)
    check = check_grid(a, grid_at(106.6))
    assert check is not None and not check.agrees
    plan = plan_cues(a, load_layout("default"), grid_at(106.6))
    assert plan.cues == () and plan.grid_source == "none"
    assert "106.6 BPM" in plan.warning and "160.0 BPM" in plan.warning and "--grid library" in plan.warning
    forced = plan_cues(a, load_layout("default"), grid_at(106.6), grid="library")
    assert forced.grid_source == "library" and forced.cues and "anyway" in forced.warning
    lib_down = grid_at(106.6).downbeats(a.duration_s)
    assert all(np.min(np.abs(lib_down - c.cue.start_s)) < 1e-9 for c in forced.cues)
    own = plan_cues(a, load_layout("default"), grid_at(106.6), grid="own")
    assert own.grid_source == "analysis" and own.cues and "own downbeats" in own.warning
    assert all(np.min(np.abs(np.asarray(a.downbeats) - c.cue.start_s)) < 1e-9 for c in own.cues)
    with pytest.raises(ConfigError, match="grid choice"):
        plan_cues(a, load_layout("default"), None, grid="mine")


@pytest.mark.parametrize(("lib_bpm", "agrees", "relation"), [
    (128.0, True, "same tempo"), (127.2, True, "same tempo"), (256.0, True, "double time"), (64.1, True, "half time"),
    (85.3, False, ""), (96.0, False, ""), (123.0, False, "")])
def test_grid_agreement_is_up_to_octaves(lib_bpm: float, agrees: bool, relation: str) -> None:
    check = check_grid(track(EDM), grid_at(lib_bpm))
    assert check is not None and check.agrees is agrees and check.relation == relation
    plan = plan_cues(track(EDM), load_layout("default"), grid_at(lib_bpm, 0.01))
    assert bool(plan.cues) is agrees and (plan.grid_source == "library") is agrees and bool(plan.warning) is not agrees


def test_no_library_grid_no_check() -> None:
    a = track(EDM)
    assert check_grid(a, None) is None
    plan = plan_cues(a, load_layout("default"))
    assert plan.grid_source == "analysis" and plan.warning == "" and plan.cues
