"""The bar phase from the downbeat head and the audio's own witnesses, on hand-made curves."""

from __future__ import annotations

import numpy as np

from djstruct.postprocess import phase as phasemod
from djstruct.postprocess import pipeline
from djstruct.postprocess.activations import PostConfig

FPS = 50.0
PERIOD_S = 0.5
N_BEATS = 64
W = phasemod.PhaseWeights(spec=0.5, low=0.5, gate=0.6)


def beats() -> np.ndarray:
    return 1.0 + PERIOD_S * np.arange(N_BEATS)


def head_curve(levels: tuple[float, float, float, float]) -> np.ndarray:
    """A downbeat activation with a pulse of ``levels[p]`` on every beat of phase p."""
    act = np.zeros(int((1.0 + PERIOD_S * (N_BEATS + 2)) * FPS))
    for i, b in enumerate(beats()):
        act[int(round(b * FPS))] = levels[i % 4]
    return act


def mel_changing_on(phase: int, *, kick_on: int | None = None) -> np.ndarray:
    """A 20-band log-mel whose spectrum (a "chord") changes only on the beats of ``phase``, with an
    optional low-band hit on the beats of ``kick_on``."""
    rng = np.random.default_rng(0)
    n = len(head_curve((0, 0, 0, 0)))
    mel = np.full((n, 20), -60.0)
    chord = rng.normal(-30, 6, 20)
    for i, b in enumerate(beats()):
        if i % 4 == phase:
            chord = rng.normal(-30, 6, 20)
        a, z = int(round(b * FPS)), int(round((b + PERIOD_S) * FPS))
        mel[a:z] = chord
        if kick_on is not None and i % 4 == kick_on:
            mel[a: a + 5, : phasemod.LOW_BINS] = -5.0
    return mel


def test_a_confident_head_decides_alone() -> None:
    ev = phasemod.phase_evidence(head_curve((0.1, 0.1, 0.9, 0.1)), mel_changing_on(0, kick_on=0), FPS, beats())
    assert phasemod.head_margin(ev["head"]) > 0.8
    assert phasemod.choose_phase(ev, W) == 2


def test_an_unsure_head_hears_the_harmonic_change() -> None:
    ev = phasemod.phase_evidence(head_curve((0.45, 0.1, 0.5, 0.1)), mel_changing_on(0), FPS, beats())
    assert phasemod.head_margin(ev["head"]) < W.gate
    assert phasemod.choose_phase(ev, phasemod.PhaseWeights()) == 2  # the head alone: the wrong phase
    assert phasemod.choose_phase(ev, W) == 0
    assert int(np.argmax(ev["spec"])) == 0


def test_the_low_band_marks_beat_one_of_a_sparse_kick_groove() -> None:
    ev = phasemod.phase_evidence(head_curve((0.3, 0.3, 0.3, 0.3)), mel_changing_on(1, kick_on=1), FPS, beats())
    assert phasemod.head_margin(ev["head"]) < 1e-9
    assert int(np.argmax(ev["low"])) == 1
    assert phasemod.choose_phase(ev, W) == 1


def test_without_a_mel_the_head_decides() -> None:
    ev = phasemod.phase_evidence(head_curve((0.45, 0.1, 0.5, 0.1)), None, FPS, beats())
    assert set(ev) == {"head"}
    assert phasemod.choose_phase(ev, W) == 2


def test_defaults_are_the_tuned_weights() -> None:
    cfg = PostConfig()
    assert (cfg.phase_spec, cfg.phase_low, cfg.phase_gate) == (W.spec, W.low, W.gate)
    assert PostConfig.from_dict({"phase_gate": 0.3}).phase_gate == 0.3


def grid_of(bpm: float, n: int = 96) -> pipeline.BeatGrid:
    return pipeline.BeatGrid(1.0 + 60.0 / bpm * np.arange(n), bpm, 0.9)


def head_every(g: pipeline.BeatGrid, every: int, first: int, other: float = 0.05) -> np.ndarray:
    act = np.full(int((g.beats[-1] + 2.0) * FPS), 0.0)
    for i, b in enumerate(g.beats):
        act[int(round(b * FPS))] = 0.8 if i % every == first else other
    return act


HT = {"ratio": 3.0, "alternation": 2.0, "bpm_range": (70.0, 90.0)}


def test_half_time_when_the_heads_bars_are_eight_beats_long() -> None:
    g = grid_of(150.0)  # a 75-BPM trap track counted double because of its hats
    beat = head_every(g, 2, 1, other=0.3)  # the beat head hears beats 1, 3, 5... (the true beats) louder
    h = phasemod.half_time(g, beat, head_every(g, 8, 3), FPS, **HT)
    assert h.bpm == 75.0
    np.testing.assert_allclose(h.beats, g.beats[1::2])  # beat 3 (a downbeat) is kept
    assert 3 * 60.0 / 150.0 + 1.0 in set(np.round(h.beats, 9))


def test_no_half_time_on_a_right_grid_or_out_of_range() -> None:
    g = grid_of(150.0)
    alt = head_every(g, 2, 0, other=0.3)
    assert phasemod.half_time(g, alt, head_every(g, 4, 0), FPS, **HT) is g
    even = head_every(g, 1, 0)  # every beat heard alike: a two-bar pattern at the right tempo
    assert phasemod.half_time(g, even, head_every(g, 8, 0), FPS, **HT) is g
    g133 = grid_of(133.0)  # half of it (66.5) is no dance tempo
    assert phasemod.half_time(g133, head_every(g133, 2, 0, 0.3), head_every(g133, 8, 0), FPS, **HT) is g133
    assert phasemod.half_time(g, alt, head_every(g, 8, 0), FPS, **{**HT, "ratio": 0.0}) is g
