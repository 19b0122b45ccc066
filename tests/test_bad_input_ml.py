"""The shipped model on input that is not a dance track: a clear, humble result, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from djstruct.types import Audio

SR = 22050


@pytest.fixture(scope="module")
def det():
    from djstruct.detect.base import get_detector

    return get_detector("ml", threads=1)


def kicks(bpm_start: float, bpm_end: float, dur_s: float) -> np.ndarray:
    """A 60 Hz kick on every beat, the tempo gliding from ``bpm_start`` to ``bpm_end``."""
    y = np.zeros(int(dur_s * SR), np.float32)
    n = np.arange(2000)
    kick = (np.exp(-n / 300) * np.sin(2 * np.pi * 60 * n / SR)).astype(np.float32) * 0.8
    t = 0.5
    while t < dur_s - 0.1:
        i = int(t * SR)
        y[i: i + len(kick)] += kick[: len(y) - i]
        t += 60.0 / (bpm_start + (bpm_end - bpm_start) * t / dur_s)
    return y


def analyze(det, y: np.ndarray):  # type: ignore[no-untyped-def]
    return det.analyze(Audio(samples=y, sample_rate_hz=SR, path=None))


def test_silence_has_no_grid(det) -> None:
    a = analyze(det, np.zeros(60 * SR, np.float32))
    assert a.bpm is None and a.beats == () and len(a.sections) == 1 and a.confidence == 0.0


def test_noise_is_not_trusted(det) -> None:
    noise = analyze(det, np.random.default_rng(0).normal(0, 0.1, 60 * SR).astype(np.float32))
    steady = analyze(det, kicks(124.0, 124.0, 60.0))
    assert noise.confidence < 0.4 * steady.confidence  # the report lists it first for review


def test_a_steady_groove_is_trusted_more_than_a_drifting_one(det) -> None:
    steady = analyze(det, kicks(124.0, 124.0, 90.0))
    drift = analyze(det, kicks(110.0, 135.0, 90.0))
    assert steady.bpm == pytest.approx(124.0, rel=0.01)
    assert len(steady.downbeats) > 10
    assert drift.confidence < 0.8 * steady.confidence


def test_a_30_second_clip_gets_a_grid(det) -> None:
    a = analyze(det, kicks(128.0, 128.0, 30.0))
    assert a.bpm == pytest.approx(128.0, rel=0.01)
    assert len(a.sections) >= 1 and a.sections[-1].end_s == pytest.approx(30.0, abs=1.0)
