"""Post-processing revision 5 on hand-made curves: a change inside a section (drums entering
mid-intro) is a part of that section, not a new one, and still gets its cue; a last bar that only
rings out the final hit ends no section."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from djstruct.cues.plan import load_layout, plan_cues
from djstruct.postprocess import pipeline
from djstruct.postprocess.activations import PostConfig, postprocess
from djstruct.postprocess.labels import inner_changes
from djstruct.types import Analysis, Section

FPS = 22050 / 512
BPM = 120.0
BEAT_S = 60.0 / BPM
BAR_S = 4 * BEAT_S


def _analysis(sections: list[tuple[float, float, str]], changes: tuple[float, ...] = ()) -> Analysis:
    n_bars = int(round(sections[-1][1] / BAR_S))
    beats = tuple(i * BEAT_S for i in range(4 * n_bars))
    down = tuple(i * BAR_S for i in range(n_bars))
    secs = tuple(Section(a * BAR_S, b * BAR_S, lab) for a, b, lab in sections)
    drops = tuple(s.start_s for s in secs if s.label == "drop")
    return Analysis("t.flac", n_bars * BAR_S, BPM, beats, down, secs, drops, None, "ml",
                    changes=tuple(c * BAR_S for c in changes))


def test_parts_cut_sections_at_their_changes_and_keep_the_label() -> None:
    a = _analysis([(0, 32, "intro"), (32, 64, "drop"), (64, 96, "outro")], changes=(16, 80))
    assert [(s.start_s / BAR_S, s.end_s / BAR_S, s.label) for s in a.parts] == [
        (0, 16, "intro"), (16, 32, "intro"), (32, 64, "drop"), (64, 80, "outro"), (80, 96, "outro")]
    assert _analysis([(0, 32, "intro"), (32, 64, "drop")]).parts == _analysis(
        [(0, 32, "intro"), (32, 64, "drop")]).sections  # no changes: the sections themselves
    assert a.drops == (32 * BAR_S,)  # a change is no drop


def test_changes_survive_the_json_round_trip_and_old_analyses_read_without_them() -> None:
    a = _analysis([(0, 32, "intro"), (32, 64, "drop")], changes=(16,))
    d = a.to_dict()
    assert d["changes"] == [16 * BAR_S]
    assert Analysis.from_dict(d).changes == (16 * BAR_S,)
    del d["changes"]  # stored by revision 4
    assert Analysis.from_dict(d).changes == ()


def test_inner_changes_are_kept_same_label_boundaries_only() -> None:
    bounds = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    labels = ["intro", "intro", "drop", "drop"]
    assert inner_changes(bounds, labels, [True, True, True]) == (10.0, 30.0)  # 20 s starts a new label
    assert inner_changes(bounds, labels, [False, True, False]) == ()


def test_a_change_gets_the_same_cues_as_a_same_label_section_did() -> None:
    """What a DJ sees does not change: "Intro +16" is a memory cue either way, hot cues the same."""
    layout = load_layout("default")
    merged = _analysis([(0, 32, "intro"), (32, 64, "drop"), (64, 96, "outro")], changes=(16,))
    split = _analysis([(0, 16, "intro"), (16, 32, "intro"), (32, 64, "drop"), (64, 96, "outro")])
    p, q = plan_cues(merged, layout), plan_cues(split, layout)
    assert [c.cue for c in p.cues] == [c.cue for c in q.cues]
    assert "Intro +16" in [c.cue.name for c in p.memory]


def _bars(n_bars: int) -> pipeline.Bars:
    beats = np.arange(4 * n_bars) * BEAT_S
    down = beats[::4]
    return pipeline.Bars(beats, down, down, n_bars * BAR_S, BAR_S)


def _curves(n_bars: int, last_bars_db: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """(level dB, beat activation) at FPS: a steady four-to-the-floor groove at -20 dB with a beat
    on every beat, the last bars given as four per-beat levels each (a beat heard only where
    the level of that beat is within 3 dB of the bar's first)."""
    n = int(n_bars * BAR_S * FPS)
    level = np.full(n, -20.0)
    act = np.zeros(n)
    for k in range(4 * n_bars):
        act[min(int(round(k * BEAT_S * FPS)), n - 1)] = 1.0
    first = n_bars - len(last_bars_db)
    for b, lv in enumerate(last_bars_db):
        for j, db in enumerate(lv):
            a = int(((first + b) * BAR_S + j * BEAT_S) * FPS)
            e = int(((first + b) * BAR_S + (j + 1) * BEAT_S) * FPS)
            level[a:e] = db
            if j > 0 and db < lv[0] - 3.0:
                act[a: a + 3] = 0.0
    return level, act


def test_a_final_hit_ringing_out_is_no_bar_of_music() -> None:
    level, act = _curves(32, [[-20.0, -40.0, -55.0, -70.0]])
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S) == 1
    level, act = _curves(32, [[-20.0, -30.0, -38.0, -45.0], [-50.0, -60.0, -75.0, -90.0]])
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S) == 2
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S, max_bars=1) == 1


@pytest.mark.parametrize("last", [
    [[-30.0, -31.0, -32.0, -33.0], [-34.0, -35.0, -36.0, -37.0]],  # a fade-out: beats go on, a few dB a bar
    [[-20.0, -45.0, -20.0, -45.0]],  # a sparse groove, kick on 1 and 3
    [[-20.0, -20.0, -20.0, -46.0]],  # a held chord, silent on beat 4
    [[-20.0, -22.0, -24.0, -26.0]],  # falls, but only 6 dB
])
def test_music_that_goes_on_is_not_trimmed(last: list[list[float]]) -> None:
    level, act = _curves(32, last)
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S) == 0


def test_an_outro_of_one_hit_per_bar_is_music() -> None:
    """Every bar a hit and silence after it: the last bar is the groove going on, not a ring-out."""
    one_hit = [-20.0, -100.0, -100.0, -100.0]
    level, act = _curves(32, [one_hit] * 8)
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S) == 0
    level, act = _curves(32, [[-20.0, -20.0, -20.0, -20.0]] * 7 + [one_hit])  # after a full groove it is
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S) == 1


def test_a_ringing_hit_is_music_when_a_beat_is_heard_in_its_bar() -> None:
    level, act = _curves(32, [[-20.0, -40.0, -55.0, -70.0]])
    act[int((31 * BAR_S + 2 * BEAT_S) * FPS)] = 1.0  # a beat on 3: there is music in that bar
    assert pipeline.ring_out_bars(level, act, FPS, _bars(32), BEAT_S) == 0


def test_the_last_section_ends_where_the_music_stops() -> None:
    """Activations of a 33-bar track whose last bar is the final hit ringing out: the outro ends on
    bar 32's line (revision 4 ended it one bar later); with ``ring_out_bars=0``, as before."""
    n_bars = 33
    level, beat = _curves(n_bars, [[-20.0, -40.0, -55.0, -70.0]])
    n = len(level)
    down = np.zeros(n)
    down[[min(int(round(k * BAR_S * FPS)), n - 1) for k in range(n_bars)]] = 1.0
    labels = np.zeros(n, dtype=np.int64)
    labels[int(16 * BAR_S * FPS):] = 4  # intro, then outro
    act = {"beat": beat, "downbeat": down * beat, "boundary": np.zeros(n), "drop": np.zeros(n),
           "energy": np.full((n, 3), 0.5), "label": np.eye(5)[labels]}
    act["boundary"][int(round(16 * BAR_S * FPS))] = 1.0
    a = postprocess(act, FPS, n / FPS + 1.0, level)
    assert a.sections[-1].end_s == pytest.approx(32 * BAR_S, abs=0.05)
    old = postprocess(act, FPS, n / FPS + 1.0, level, cfg=replace(PostConfig(), ring_out_bars=0))
    assert old.sections[-1].end_s == pytest.approx(33 * BAR_S, abs=0.05)
    assert [s.label for s in a.sections] == ["intro", "outro"]


def test_duplicate_and_stray_changes_make_no_empty_part() -> None:
    a = _analysis([(0, 32, "intro"), (32, 64, "drop")], changes=(16, 16, 32, 99))
    assert [(s.start_s / BAR_S, s.end_s / BAR_S) for s in a.parts] == [(0, 16), (16, 32), (32, 64)]
    assert [new for _, new in a.marked_parts()] == [False, True, False]


def test_a_file_that_stops_mid_bar_is_trimmed_on_bar_lines() -> None:
    """The file stops 1.5 beats into a bar after the final hit at bar 31: the partial bar and the
    ring-out bar go, and the music ends on bar 31's line (never mid-bar)."""
    level, act = _curves(33, [[-20.0, -40.0, -55.0, -70.0], [-80.0, -90.0, -100.0, -100.0]])
    cut = int((32 * BAR_S + 1.5 * BEAT_S) * FPS)
    level, act = level[:cut], act[:cut]
    beats = np.arange(4 * 32 + 2) * BEAT_S
    down = beats[::4]
    bars = pipeline.Bars(beats, down, down, cut / FPS, BAR_S)  # end_s clipped to the file
    n = pipeline.ring_out_bars(level, act, FPS, bars, BEAT_S)
    assert n == 2 and bars.starts[-n] == pytest.approx(31 * BAR_S)


def test_two_bar_track_with_a_pickup_reads_no_frame_before_the_start() -> None:
    level, act = _curves(3, [[-20.0, -40.0, -55.0, -70.0]])
    level[: int(BEAT_S * FPS)] = 0.0  # a loud first beat: a wrapped window would see it as the bar before
    beats = np.arange(1, 12) * BEAT_S
    starts = np.array([BEAT_S, BAR_S, 2 * BAR_S])  # a pickup bar, then two whole bars
    bars = pipeline.Bars(beats, starts[1:], starts, 3 * BAR_S, BAR_S)
    assert pipeline.ring_out_bars(level, act, FPS, bars, BEAT_S) == 1  # only the last bar, not into the pickup


def test_analyze_lists_a_change_as_a_new_part_of_its_section() -> None:
    from rich.console import Console

    from djstruct.cli import analyze as cli_analyze

    a = _analysis([(0, 32, "intro"), (32, 64, "drop")], changes=(16,))
    console = Console(record=True, width=120)
    old = cli_analyze.out
    cli_analyze.out = console
    try:
        cli_analyze.render_summary(a)
    finally:
        cli_analyze.out = old
    text = console.export_text()
    assert "2 sections" in text and "intro, new part" in text
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit() or "new part" in line]
    assert [r[-1] for r in rows if r] == ["intro", "part", "drop"]
