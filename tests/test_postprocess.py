"""Post-processing on hand-made curves: grid fitting, bar phase, boundary picking, labels."""

from __future__ import annotations

import numpy as np
import pytest

from djstruct.postprocess import grid as gridmod
from djstruct.postprocess import sections as secmod
from djstruct.postprocess.labels import SectionStats, label_by_rules, labels_from_probs, sections_from_bounds

FPS = 100.0


def pulse_train(bpm: float, t0: float, dur: float, fps: float = FPS, jitter: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = int(dur * fps)
    act = np.zeros(n)
    t = t0
    period = 60.0 / bpm
    while t < dur:
        tt = t + rng.normal(0, jitter)
        pos = tt * fps
        i = int(np.floor(pos))
        if 0 <= i < n - 1:  # split the pulse over two frames: sub-frame position is recoverable
            frac = pos - i
            act[i] += 1 - frac
            act[i + 1] += frac
        t += period
    return act


@pytest.mark.parametrize("bpm", [122.0, 124.5, 128.0, 140.0, 174.3])
def test_estimate_bpm_exact_tempi(bpm: float) -> None:
    act = pulse_train(bpm, 0.37, 60.0)
    est = gridmod.estimate_bpm(act, FPS)
    assert est is not None and abs(est - bpm) / bpm < 0.02


def test_estimate_bpm_folds_octaves_into_range() -> None:
    act = pulse_train(70.0, 0.2, 60.0)  # half-time feel of 140
    est = gridmod.estimate_bpm(act, FPS, bpm_range=(88.0, 186.0))
    assert est is not None and abs(est - 140.0) < 2.0


def test_estimate_bpm_none_on_silence() -> None:
    assert gridmod.estimate_bpm(np.zeros(6000), FPS) is None


def test_fit_grid_recovers_tempo_and_phase_precisely() -> None:
    bpm, t0 = 174.3, 1.234
    act = pulse_train(bpm, t0, 300.0, jitter=0.004, seed=3)
    g = gridmod.fit_grid(act, FPS, bpm * 1.004)  # start from a slightly wrong tempo
    assert abs(g.bpm - bpm) < 0.01
    truth = t0 + np.arange(len(g.beats)) * 60.0 / bpm
    # every fitted beat within 10 ms of the true grid, over five minutes
    first = int(np.argmin(np.abs(truth[0] - g.beats)))
    assert np.max(np.abs(g.beats[first: first + len(truth)][:-2] - truth[: len(g.beats) - first][:-2])) < 0.01


def test_fit_grid_respects_active_span() -> None:
    act = pulse_train(128.0, 0.0, 60.0)
    g = gridmod.fit_grid(act, FPS, 128.0, active=(10.0, 20.0))
    assert g.beats.min() >= 10.0 - 0.25 and g.beats.max() <= 20.0 + 0.25


def test_block_novelty_peaks_at_change() -> None:
    feats = np.concatenate([np.zeros((16, 3)), np.ones((16, 3))])
    nov = secmod.block_novelty(feats, 4)
    assert int(np.argmax(nov)) == 16


def test_cosine_novelty_peaks_at_change_of_direction_not_of_scale() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=8), rng.normal(size=8)
    feats = np.concatenate([np.tile(a, (12, 1)), np.tile(b, (12, 1)), 3.0 * np.tile(b, (12, 1))])
    feats += 0.01 * rng.normal(size=feats.shape)
    nov = secmod.cosine_novelty(feats, 4)
    assert nov.shape == (36,) and nov[0] == 0.0
    assert int(np.argmax(nov)) == 12
    assert nov[24] < 0.01 * nov[12]  # louder, same direction: no change
    ref = 1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert nov[12] == pytest.approx(ref, abs=0.02)
    # shorter blocks at the edges, and degenerate inputs
    assert np.all(np.isfinite(secmod.cosine_novelty(np.zeros((5, 3)), 4)))
    assert secmod.cosine_novelty(np.ones((1, 3)), 4).tolist() == [0.0]


def test_sections_keep_strong_boundaries_between_same_labels() -> None:
    bounds = np.array([0.0, 10.0, 20.0, 30.0])
    labels = ["drop", "drop", "outro"]
    assert len(sections_from_bounds(bounds, labels, merge_same=True)) == 2
    kept = sections_from_bounds(bounds, labels, merge_same=True, keep=[True, False])
    assert [(s.start_s, s.label) for s in kept] == [(0.0, "drop"), (10.0, "drop"), (20.0, "outro")]


def test_pick_boundaries_min_distance_and_threshold() -> None:
    score = np.zeros(64)
    score[[8, 9, 24, 40, 41, 56]] = [1.0, 0.9, 0.8, 0.2, 0.7, 0.6]
    assert secmod.pick_boundaries(score, threshold=0.5, min_bars=4) == [8, 24, 41, 56]
    assert secmod.pick_boundaries(score, threshold=0.75, min_bars=4) == [8, 24]


def test_pick_boundaries_keeps_a_long_last_section() -> None:
    score = np.zeros(64)
    score[[16, 56, 60]] = [0.9, 0.8, 1.0]  # a 4-bar tail over the fade scores highest
    assert secmod.pick_boundaries(score, threshold=0.5, min_bars=4) == [16, 56, 60]
    assert secmod.pick_boundaries(score, threshold=0.5, min_bars=4, end_bars=8) == [16, 56]
    assert secmod.pick_boundaries(score, threshold=0.5, min_bars=4, end_bars=9) == [16]
    assert secmod.pick_boundaries(score[:8], threshold=0.5, min_bars=4, end_bars=8) == []


def test_phrase_weight_and_offset() -> None:
    score = np.zeros(48)
    score[[3, 11, 19, 35]] = 1.0
    assert secmod.best_phrase_offset(score) == 3
    w = secmod.phrase_weight(48, 3)
    assert w[11] == 1.0 and w[7] < 1.0 and w[8] < w[7]


def test_aggregate_means() -> None:
    frames = np.arange(10, dtype=float)[:, None] * np.ones((1, 2))
    out = secmod.aggregate(frames, 1.0, np.array([0, 5, 10]))
    assert np.allclose(out[:, 0], [2.0, 7.0])


def _stats(low, mid, loud, slope=None):
    n = len(low)
    return SectionStats(np.array(low, float), np.array(mid, float), np.full(n, -20.0), np.array(loud, float),
                        np.array(slope if slope is not None else [0.0] * n, float), np.full(n, 16.0))


def test_label_rules_two_drop_track() -> None:
    st = _stats(low=[-5, -12, -4, -40, -14, -4, -5],
                mid=[-14, -12, -6, -11, -12, -6, -14],
                loud=[-6, -10, -3, -13, -10, -3, -6],
                slope=[3, 18, 0, 8, 17, 0, -5])
    assert label_by_rules(st) == ["intro", "buildup", "drop", "breakdown", "buildup", "drop", "outro"]


def test_label_rules_breakdown_before_first_drop_and_after_last() -> None:
    st = _stats(low=[-5, -40, -12, -4, -40, -5],
                mid=[-14, -11, -12, -6, -11, -14],
                loud=[-6, -13, -10, -3, -13, -6],
                slope=[3, 8, 18, 0, 8, -5])
    assert label_by_rules(st) == ["intro", "breakdown", "buildup", "drop", "breakdown", "outro"]


def test_label_rules_no_drop() -> None:
    st = _stats(low=[-30, -30, -30], mid=[-10, -10, -10], loud=[-20, -20, -20])
    assert label_by_rules(st) == ["intro", "breakdown", "outro"]


def test_labels_from_probs_and_merge() -> None:
    probs = np.zeros((300, 5))
    probs[:100, 0] = 1  # intro
    probs[100:300, 2] = 1  # drop
    bounds = np.array([0.0, 1.0, 2.0, 3.0])
    labels = labels_from_probs(probs, 100.0, bounds)
    assert labels == ["intro", "drop", "drop"]
    secs = sections_from_bounds(bounds, labels, merge_same=True)
    assert [(s.start_s, s.end_s, s.label) for s in secs] == [(0.0, 1.0, "intro"), (1.0, 3.0, "drop")]
