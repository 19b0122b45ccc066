"""Band-level novelty (post-processing revision 4) on hand-made curves: the bass, mid and high
levels of the log-mel say where drums or bass come in or go out, beside the model's embedding."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from djstruct.constants import MODEL_N_MELS
from djstruct.postprocess import activations as actmod
from djstruct.postprocess import sections as secmod
from djstruct.postprocess.activations import PostConfig, postprocess
from djstruct.signal import band_power_from_mel, model_mel_band_index

FPS = 22050 / 512
BPM = 120.0
BAR_S = 240.0 / BPM
N_BARS = 64


def _band_index() -> np.ndarray:
    return model_mel_band_index()


def _mel(bass_bars: tuple[int, int]) -> np.ndarray:
    """(frames, 80) dB log-mel: mids and highs at -30 dB throughout, the bass band 24 dB louder
    from bar ``bass_bars[0]`` up to bar ``bass_bars[1]`` (a bassline entering, then leaving)."""
    n = int(N_BARS * BAR_S * FPS) + 1
    mel = np.full((n, MODEL_N_MELS), -30.0)
    t = np.arange(n) / FPS
    on = (t >= bass_bars[0] * BAR_S) & (t < bass_bars[1] * BAR_S)
    mel[np.ix_(on, np.flatnonzero(_band_index() == 0))] += 24.0
    return mel


def test_mel_band_index_splits_at_the_band_edges() -> None:
    band = _band_index()
    assert band.shape == (MODEL_N_MELS,)
    assert list(np.bincount(band)) == [4, 39, 37]  # below 150 Hz, 150-2500 Hz, above
    assert np.all(np.diff(band) >= 0)


def test_band_power_from_mel_sums_each_band() -> None:
    band = _band_index()
    mel = np.zeros((3, MODEL_N_MELS))  # 0 dB = power 1 in every bin
    p = band_power_from_mel(mel, band)
    assert p.shape == (3, 4)
    assert p[0].tolist() == pytest.approx([4, 39, 37, 80])


def test_scale_inner_ignores_the_ends_and_takes_a_percentile() -> None:
    nov = np.array([9.0, 0.0, 0.0, 1.0, 2.0, 4.0, 0.0, 0.0, 9.0])
    assert secmod.scale_inner(nov, 2).tolist() == pytest.approx([1, 0, 0, 0.25, 0.5, 1, 0, 0, 1])
    assert secmod.scale_inner(nov, 2, 50.0)[5] == 1.0  # clipped at 1 above the percentile
    assert secmod.scale_inner(np.zeros(9), 2).tolist() == [0.0] * 9


def test_level_novelty_peaks_where_the_bass_changes() -> None:
    levels = np.full((32, 4), -20.0)
    levels[12:, 0] = -2.0  # bass in at bar 12
    nov = secmod.two_scale_novelty(secmod.weighted_levels(levels))
    assert int(np.argmax(nov)) == 12
    assert nov[12] == pytest.approx(1.5 * 18 / 6 * 1.5)  # full weight at both widths
    assert nov[2] == pytest.approx(0.0, abs=1e-9) and nov[25] == pytest.approx(0.0, abs=1e-9)  # steady
    hats = np.full((32, 4), -20.0)
    hats[12:, 2] = -2.0  # the same change in the high band counts less
    assert secmod.two_scale_novelty(secmod.weighted_levels(hats))[12] < 0.3 * nov[12]


def test_band_novelty_finds_bass_in_and_out() -> None:
    mel = _mel((16, 48))
    starts = np.arange(N_BARS) * BAR_S
    nov = actmod._band_novelty(mel, FPS, starts, N_BARS * BAR_S, 4, 95.0)
    assert nov.shape == (N_BARS,)
    assert nov[16] == pytest.approx(1.0) and nov[48] == pytest.approx(1.0)
    peak = actmod._band_novelty(mel, FPS, starts, N_BARS * BAR_S, 4, 100.0)  # scaled by the largest
    assert peak[16] == pytest.approx(1.0) and max(peak[15], peak[17]) < 0.9  # it peaks on the change
    far = [i for i in range(N_BARS) if min(abs(i - 16), abs(i - 48)) > 4]
    assert np.max(nov[far]) < 1e-6  # steady elsewhere


def _activations(mel: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Activations of a steady 120-BPM track: beats and downbeats exact, a silent boundary head,
    one embedding direction throughout (the model hears no change), ``labels`` per frame."""
    n = len(mel)
    beat = np.zeros(n)
    down = np.zeros(n)
    for k in range(int(n / FPS / 0.5)):
        i = int(round(k * 0.5 * FPS))
        if i < n:
            beat[i] = 1.0
            down[i] = 1.0 if k % 4 == 0 else 0.0
    return {"beat": beat, "downbeat": down, "boundary": np.zeros(n), "drop": np.zeros(n),
            "energy": np.full((n, 3), 0.5), "label": np.eye(5)[labels], "embedding": np.ones((n, 8)), "mel": mel}


def test_boundary_score_averages_embedding_and_band_novelty() -> None:
    mel = _mel((16, 48))
    act = _activations(mel, np.zeros(len(mel), dtype=np.int64))
    starts = np.arange(N_BARS) * BAR_S
    score, head = actmod.boundary_score(act, FPS, starts, N_BARS * BAR_S, 5, PostConfig())
    assert np.all(head == 0.0)
    assert score[16] == pytest.approx(0.5)  # (embedding 0 + band 1) / 2
    only_embedding, _ = actmod.boundary_score(act, FPS, starts, N_BARS * BAR_S, 5,
                                              PostConfig(band_novelty_weight=0.0))
    assert np.all(only_embedding == 0.0)
    only_band, _ = actmod.boundary_score(act, FPS, starts, N_BARS * BAR_S, 5, PostConfig(novelty_weight=0.0))
    assert only_band[16] == pytest.approx(1.0)


def test_bass_entering_mid_intro_starts_a_part_of_its_own() -> None:
    """An intro whose bass comes in at bar 16, a drop from bar 32, an outro without bass from bar
    48, and a model whose embedding only changes at the drop and the outro: the bass entry starts a
    part (a DJ cues it) inside the one intro the label head hears (revision 4 made it a second
    "intro" section); revision 3, which kept same-label neighbours apart only for drops, lost it."""
    mel = _mel((16, 48))
    mel[int(32 * BAR_S * FPS): int(48 * BAR_S * FPS), np.flatnonzero(_band_index() == 1)] += 12.0  # the drop
    labels = np.zeros(len(mel), dtype=np.int64)
    labels[int(32 * BAR_S * FPS):] = 2  # drop
    labels[int(48 * BAR_S * FPS):] = 4  # outro
    act = _activations(mel, labels)
    act["embedding"] = np.eye(8)[np.minimum(labels, 3)]  # the model hears the drop and the outro, not the bass
    loud = 10.0 * np.log10((10.0 ** (mel / 10.0)).sum(axis=1))
    a = postprocess(act, FPS, len(mel) / FPS, loud)
    assert [(round(s.start_s / BAR_S), s.label) for s in a.sections] == [(0, "intro"), (32, "drop"), (48, "outro")]
    assert [round(c / BAR_S) for c in a.changes] == [16]
    assert [(round(s.start_s / BAR_S), s.label) for s in a.parts] == [(0, "intro"), (16, "intro"), (32, "drop"),
                                                                         (48, "outro")]
    rev4_cfg = replace(PostConfig(), new_section_same=PostConfig().split_same)
    rev4 = postprocess(act, FPS, len(mel) / FPS, loud, cfg=rev4_cfg)
    assert rev4.sections == a.parts and rev4.changes == ()
    old = postprocess(act, FPS, len(mel) / FPS, loud, cfg=replace(PostConfig(), split_same=("drop",)))
    assert [(round(s.start_s / BAR_S), s.label) for s in old.parts] == [(0, "intro"), (32, "drop"), (48, "outro")]
    no_band = postprocess(act, FPS, len(mel) / FPS, loud, cfg=replace(PostConfig(), band_novelty_weight=0.0))
    assert 16 not in [round(s.start_s / BAR_S) for s in no_band.parts]


def test_the_shipped_model_runs_revision_5_as_documented() -> None:
    """The model card's settings: threshold 0.3 stored in the checkpoint, band novelty on at its
    95th percentile, same-label parts for intros, drops, breakdowns and outros, of which only a
    drop starts a new section (the others are changes inside one), ring-out bars trimmed."""
    pytest.importorskip("torch")
    from djstruct.detect.ml import MlDetector

    post = MlDetector().post
    assert post.boundary_threshold == 0.3 and post.band_novelty_weight == 1.0
    assert post.band_novelty_percentile == 95.0 and post.split_same == ("intro", "drop", "breakdown", "outro")
    assert post.new_section_same == ("drop",)
    assert post.ring_out_bars == 2 and post.ring_out_decay_db == 15.0
