"""A DJ's cue style learnt over structure analyses (synthetic arrangements, pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from djstruct.cues.plan import load_layout, plan_cues
from djstruct.evaluate import onset_f
from djstruct.postprocess.cue_style import CueStyle, pick_cues
from djstruct.postprocess.peaks import pick_peaks
from djstruct.train.style_fit import StyleExample, fit_style
from djstruct.types import Analysis, Section

BPM = 128.0
BAR = 240.0 / BPM


def arrangement(rng: np.random.Generator, path: str = "t") -> Analysis:
    """An EDM-like arrangement with random section lengths (bars) and one or two drops."""
    parts = [("intro", int(rng.choice([8, 16, 32])))]
    for _ in range(int(rng.integers(1, 3))):
        parts += [("breakdown", int(rng.choice([8, 16, 32]))), ("buildup", int(rng.choice([8, 16]))),
                  ("drop", int(rng.choice([16, 32])))]
    parts.append(("outro", int(rng.choice([8, 16]))))
    offset = float(rng.uniform(0.0, 1.0))
    t, sections = offset, []
    for label, bars in parts:
        sections.append(Section(t, t + bars * BAR, label))
        t += bars * BAR
    n_bars = sum(b for _, b in parts)
    down = tuple(offset + i * BAR for i in range(n_bars))
    beats = tuple(offset + i * BAR / 4 for i in range(4 * n_bars))
    drops = tuple(s.start_s for s in sections if s.label == "drop")
    return Analysis(path, t + 1.0, BPM, beats, down, tuple(sections), drops, None, "ml")


def pre_drop_16(a: Analysis) -> tuple[float, ...]:
    cues = []
    for d in a.drops:
        if d - 16 * BAR >= a.downbeats[0] - 1e-6:
            cues.append(d - 16 * BAR)
        cues.append(d)
    return tuple(cues)


def every_section(a: Analysis) -> tuple[float, ...]:
    return tuple(s.start_s for s in a.sections if s.label != "breakdown")


def post_drop_8_pre_break_4(a: Analysis) -> tuple[float, ...]:
    cues = [d + 8 * BAR for d in a.drops] + [s.start_s - 4 * BAR for s in a.sections if s.label == "breakdown"]
    return tuple(sorted(t for t in cues if a.downbeats[0] - 1e-6 <= t <= a.downbeats[-1] + 1e-6))


def every_32_from_first_drop(a: Analysis) -> tuple[float, ...]:
    i0 = int(np.argmin(np.abs(np.asarray(a.downbeats) - a.drops[0])))
    return tuple(a.downbeats[i0::32])


def first_drop_only(a: Analysis) -> tuple[float, ...]:
    return (a.drops[0],)


@pytest.mark.parametrize("style", [pre_drop_16, every_section, post_drop_8_pre_break_4, every_32_from_first_drop,
                                   first_drop_only])
def test_style_learnt_from_a_few_tracks_holds_on_new_ones(style) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    tracks = [arrangement(rng, f"t{i}") for i in range(36)]
    exs = [StyleExample(a, style(a)) for a in tracks]
    learnt, f_val = fit_style(exs[:20], exs[20:28])
    assert f_val > 0.95
    beat = 60.0 / BPM
    f_test = [onset_f(ex.cues, pick_cues(learnt, ex.analysis), beat) for ex in exs[28:]]
    assert np.mean(f_test) > 0.95, f_test


def test_drop_features_on_a_hand_made_grid() -> None:
    from djstruct.postprocess.cue_style import drop_features

    down = np.arange(100) * BAR + 0.3
    f = drop_features(down, np.array([down[10], down[40]]), 60.0 / BPM)
    assert f.shape == (100, 7)
    assert np.flatnonzero(f[:, 0]).tolist() == [10]  # the first drop
    assert np.flatnonzero(f[:, 2]).tolist() == [18, 48]  # 8 bars after a drop (either)
    assert np.flatnonzero(f[:, 6]).tolist() == [10, 42, 74]  # the 32-bar grid from the first drop
    assert np.flatnonzero(f[:, 4]).tolist() == list(range(10, 100, 8))
    assert not drop_features(down, np.zeros(0), 60.0 / BPM).any()


def test_the_new_styles_need_the_version_2_features() -> None:
    """With the version-1 features (no first drop, no grid from it) "every 32 bars from the first
    drop" and "only the first drop" are not learnt; version-1 styles still load and run."""
    from djstruct.postprocess.cue_style import N_FEATURES_V1, cue_probs, style_features

    rng = np.random.default_rng(9)
    tracks = [arrangement(rng, f"t{i}") for i in range(28)]
    assert style_features(tracks[0], 1)[1].shape[1] == N_FEATURES_V1
    for style in (every_32_from_first_drop, first_drop_only):
        exs = [StyleExample(a, style(a)) for a in tracks]
        v2, _ = fit_style(exs[:20], exs[20:24])
        f2 = np.mean([onset_f(ex.cues, pick_cues(v2, ex.analysis), 60.0 / BPM) for ex in exs[24:]])
        v1, _ = fit_style(exs[:20], exs[20:24], feature_version=1)
        assert len(v1.coef) == N_FEATURES_V1 and CueStyle.from_dict(v1.to_dict()) == v1
        f1 = np.mean([onset_f(ex.cues, pick_cues(v1, ex.analysis), 60.0 / BPM) for ex in exs[24:]])
        assert f2 > 0.95 and f1 < 0.9, (style.__name__, f1, f2)
        assert len(cue_probs(v1, tracks[0])[1]) == len(tracks[0].downbeats)


def test_pre_drop_style_is_not_the_section_starts() -> None:
    """The structure alone (a cue at every section start) is far from this DJ's cues."""
    rng = np.random.default_rng(8)
    tracks = [arrangement(rng) for _ in range(10)]
    f = [onset_f(pre_drop_16(a), [s.start_s for s in a.sections], 60.0 / BPM) for a in tracks]
    assert np.mean(f) < 0.75


def test_pick_keeps_peaks_apart_and_above_threshold() -> None:
    p = np.array([0.1, 0.9, 0.8, 0.2, 0.7, 0.3, 0.95])
    assert pick_peaks(p, threshold=0.5, min_gap=2) == [1, 4, 6]
    assert pick_peaks(p, threshold=0.5, min_gap=1) == [1, 2, 4, 6]
    assert pick_peaks(p, threshold=0.99, min_gap=1) == []


def test_style_round_trip_and_version_check() -> None:
    s = CueStyle((0.5, -1.0, 2.0), 0.4, 2)
    assert CueStyle.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError, match="version"):
        CueStyle.from_dict({**s.to_dict(), "feature_version": 99})
    assert CueStyle.from_dict({**s.to_dict(), "feature_version": 1}).feature_version == 1


def test_plan_uses_cue_points_and_names_them() -> None:
    from dataclasses import replace

    a = arrangement(np.random.default_rng(3))
    bars = [("intro", 16), ("breakdown", 32), ("buildup", 8), ("drop", 16), ("outro", 8)]
    starts = np.cumsum([0] + [b for _, b in bars]) * BAR
    sections = tuple(Section(float(s), float(e), lab) for (lab, _), s, e in zip(bars, starts, starts[1:], strict=False))
    a = replace(a, sections=sections, drops=(sections[3].start_s,), duration_s=float(starts[-1]),
                downbeats=tuple(i * BAR for i in range(80)), beats=tuple(i * BAR / 4 for i in range(320)))
    a = replace(a, cue_points=pre_drop_16(a) + (sections[4].start_s + 2 * BAR,))
    plan = plan_cues(a, load_layout("default"))
    assert [c.cue.start_s for c in plan.memory] == pytest.approx(sorted(a.cue_points))
    assert [c.cue.name for c in plan.memory] == ["-16 Drop 1", "Drop 1", "Outro +2"]
    assert {c.cue.name for c in plan.hot} >= {"Drop 1", "Start"}  # hot cues still follow the layout
    assert Analysis.from_dict(a.to_dict()).cue_points == pytest.approx(a.cue_points, abs=1e-4)
    assert "cue_points" not in replace(a, cue_points=()).to_dict()  # old stores read the same


def test_a_section_split_in_two_is_one_section_in_the_plan() -> None:
    """Two drop sections in a row (a strong change inside one drop) are one drop: one number, one
    hot cue, and a memory cue named after the drop at the change."""
    from dataclasses import replace

    a = arrangement(np.random.default_rng(4))
    bars = [("intro", 16), ("drop", 16), ("drop", 16), ("breakdown", 16), ("drop", 16), ("outro", 8)]
    starts = np.cumsum([0] + [b for _, b in bars]) * BAR
    sections = tuple(Section(float(s), float(e), lab) for (lab, _), s, e in zip(bars, starts, starts[1:], strict=False))
    a = replace(a, sections=sections, drops=(sections[1].start_s, sections[4].start_s), duration_s=float(starts[-1]),
                downbeats=tuple(i * BAR for i in range(88)), beats=tuple(i * BAR / 4 for i in range(352)),
                cue_points=())
    plan = plan_cues(a, load_layout("default"))
    names = [c.cue.name for c in plan.memory]
    assert names[1:4] == ["Drop 1", "Drop 1 +16", "Break 1"] and names[4] == "Drop 2"
    drop_hot = [c for c in plan.hot if c.reason == "drop"]
    assert sorted(c.cue.start_s for c in drop_hot) == pytest.approx([sections[1].start_s, sections[4].start_s])


def test_rule_search_finds_the_djs_rule_and_survives_a_flawed_analysis() -> None:
    """On hand-made arrangements the rule search finds "8 bars after every drop, 4 before every
    breakdown" as two features; when the analysis merges a double drop in some tracks (the cue 8
    bars after the second drop has no drop to hang on), the rule is still chosen and places no
    cue off the DJ's."""
    from dataclasses import replace

    from djstruct.postprocess.cue_style import style_features
    from djstruct.train.style_fit import fit_rule, rule_style

    rng = np.random.default_rng(11)
    tracks = [arrangement(rng, f"t{i}") for i in range(24)]
    exs = [StyleExample(a, post_drop_8_pre_break_4(a)) for a in tracks]
    cols, f = fit_rule(exs[:16])
    assert f == pytest.approx(1.0) and 1 <= len(cols) <= 2
    n = style_features(tracks[0])[1].shape[1]
    rule = rule_style(cols, n)
    assert CueStyle.from_dict(rule.to_dict()) == rule
    for ex in exs[16:]:
        assert pick_cues(rule, ex.analysis) == pytest.approx(ex.cues)
    # the same DJ on an analysis that misses the second drop of every other track: the cues the
    # DJ put 8 bars after it cannot be found, but the rule is still chosen and puts nothing extra
    flawed = [replace(ex, analysis=replace(ex.analysis, drops=ex.analysis.drops[:1])) if i % 2 and
              len(ex.analysis.drops) > 1 else ex for i, ex in enumerate(exs)]
    learnt, _ = fit_style(flawed[:16], flawed[16:20])
    assert learnt.threshold == 0.5 and sum(c == 10.0 for c in learnt.coef) <= 3
    for ex in flawed[20:]:
        est = pick_cues(learnt, ex.analysis)
        assert all(np.min(np.abs(np.asarray(ex.cues) - t)) < 0.1 for t in est)  # no cue off the DJ's
