"""The synthetic DJ's cue styles (synth/library.py) on a hand-made ground truth."""

from __future__ import annotations

import pytest

from djstruct.synth.library import STYLES, style_cues

BPM = 120.0
BAR = 2.0  # s at 120 BPM
OFF = 0.5


def truth() -> dict:  # type: ignore[type-arg]
    """intro 16 | buildup 8 | drop 16 | breakdown 16 | buildup 8 | drop 16 | drop 8 | outro 16 (104 bars)."""
    parts = [("intro", 16), ("buildup", 8), ("drop", 16), ("breakdown", 16), ("buildup", 8), ("drop", 16),
             ("drop", 8), ("outro", 16)]
    t, sections = 0, []
    for lab, bars in parts:
        sections.append({"start": OFF + t * BAR, "end": OFF + (t + bars) * BAR, "label": lab})
        t += bars
    return {"bpm": BPM, "offset_s": OFF, "duration_s": OFF + t * BAR + 1.0,
            "downbeats": [OFF + i * BAR for i in range(t)], "sections": sections,
            "drops": [s["start"] for s in sections if s["label"] == "drop"]}


def bars(cues: list[tuple[float, str]]) -> list[float]:
    return [round((t - OFF) / BAR, 6) for t, _ in cues]


def test_post_drop_8_and_pre_break_4() -> None:
    cues = style_cues(truth(), "post-drop-8+pre-break-4")
    # drops at bars 24, 64, 80 (a double drop); the breakdown at bar 40
    assert bars(cues) == [32, 36, 72, 88]
    assert [n for _, n in cues] == ["Drop 1 +8", "-4 Break 1", "Drop 2 +8", "Drop 3 +8"]


def test_every_32_from_first_drop_runs_on_the_grid_to_the_end() -> None:
    cues = style_cues(truth(), "every-32-from-first-drop")
    assert bars(cues) == [24, 56, 88]  # the last downbeat is bar 103
    assert [n for _, n in cues] == ["Drop 1", "Drop 1 +32", "Drop 1 +64"]


def test_first_drop_only() -> None:
    assert style_cues(truth(), "first-drop-only") == [(pytest.approx(OFF + 24 * BAR), "Drop 1")]


def test_old_styles_unchanged_and_cues_stay_on_the_track() -> None:
    tr = truth()
    assert bars(style_cues(tr, "pre-drop-16")) == [8, 24, 48, 64, 64, 80]
    assert len(style_cues(tr, "sections")) == 8
    short = {**tr, "downbeats": tr["downbeats"][:30]}  # the track ends at bar 29
    assert bars(style_cues(short, "post-drop-8+pre-break-4")) == []  # bar 32 and later are past the end
    assert bars(style_cues(short, "every-32-from-first-drop")) == [24]
    none = {**tr, "drops": []}
    assert style_cues(none, "first-drop-only") == [] and style_cues(none, "every-32-from-first-drop") == []
    assert set(STYLES) >= {"sections", "pre-drop-16", "post-drop-8+pre-break-4", "every-32-from-first-drop",
                           "first-drop-only"}
    with pytest.raises(ValueError, match="unknown style"):
        style_cues(tr, "every-bar")
