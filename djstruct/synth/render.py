"""Render one synthetic track: plan -> score -> audio (stereo 44.1 kHz float32) + ground truth.

Every event at beat ``x`` starts at sample ``round((offset_s + x * 60 / bpm) * 44100)``, so the
truth in the returned dict is exact to half a sample. Everything random comes from
``numpy.random.SeedSequence([seed, index])``: the same ``(seed, index)`` gives the same samples.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from djstruct.synth.arrangement import Arrangement, plan_arrangement
from djstruct.synth.instruments import SR, make_kit, riser
from djstruct.synth.patterns import GENRE_ORDER
from djstruct.synth.score import Score, build_score
from djstruct.synth.synths import NoteRenderer, make_patch

logger = logging.getLogger(__name__)

PEAK_DBFS = -1.0
# Base linear levels per instrument, jittered per track by +-2 dB.
LEVELS: dict[str, float] = {
    "kick": 1.0, "clap": 0.45, "snare": 0.5, "hat": 0.16, "ohat": 0.16, "perc": 0.16, "crash": 0.3,
    "tom0": 0.4, "tom1": 0.4, "tom2": 0.4, "boom": 0.55, "riser": 0.35,
    "bass": 0.6, "lead": 0.4, "chords": 0.2, "pad": 0.16,
}


def genre_for(seed: int, index: int) -> str:
    """Genre of track ``index`` of a corpus: the five genres in turn (rotated by the seed)."""
    return GENRE_ORDER[(seed + index) % len(GENRE_ORDER)]


def beat_samples(arr: Arrangement, beats: np.ndarray) -> np.ndarray:
    """Sample index of each beat position: ``round((offset_s + beat * 60 / bpm) * 44100)``."""
    return np.rint((arr.offset_s + np.asarray(beats, dtype=np.float64) * 60.0 / arr.bpm) * SR).astype(np.int64)


def _place(bus: np.ndarray, shot: np.ndarray, starts: np.ndarray, gains: np.ndarray) -> None:
    """Add ``gain * shot`` (``(2, m)``) into ``bus`` (``(2, n)``) at each start sample."""
    n, m = bus.shape[1], shot.shape[1]
    for s, g in zip(starts.tolist(), gains.tolist(), strict=True):
        if s >= n:
            continue
        e = min(n, s + m)
        bus[:, s:e] += np.float32(g) * shot[:, : e - s]


def _duck_env(arr: Arrangement, triggers: list[float], n: int, depth: float) -> np.ndarray:
    """Side-chain gain ``(n,)`` float32: dips to ``1 - depth`` after each trigger, recovers in ~0.9 beat."""
    env = np.ones(n, dtype=np.float32)
    if not triggers:
        return env
    length = int(0.9 * 60.0 / arr.bpm * SR)
    t = np.arange(length) / length
    shape = (1.0 - depth * (1.0 - t) ** 2 * np.minimum(1.0, np.arange(length) / (0.003 * SR)))
    shape = shape.astype(np.float32)
    for s in beat_samples(arr, np.asarray(triggers)).tolist():
        e = min(n, s + length)
        np.minimum(env[s:e], shape[: e - s], out=env[s:e])
    return env


def _gap_env(n: int, gain: float) -> np.ndarray:
    """Gain over a pre-drop gap of ``n`` samples: a 5 ms fade to ``gain``, then decaying to 0."""
    t = np.arange(n) / SR
    env = gain * np.exp(-t / 0.25)
    nf = min(n, int(0.005 * SR))
    env[:nf] = np.linspace(1.0, gain, nf)
    return env.astype(np.float32)


def render_arrangement(arr: Arrangement, rng: np.random.Generator) -> np.ndarray:
    """Render ``arr`` with sounds drawn from ``rng``; returns ``(n, 2)`` float32 at 44.1 kHz, peak -1 dBFS.

    ``n`` covers the arrangement plus its decay tail (``arr.tail_s``).
    """
    genre = arr.style.genre.name
    score: Score = build_score(arr)
    n = int(round((arr.end_s + arr.tail_s) * SR))
    kit = make_kit(rng, genre)
    shots = {"kick": kit.kick, "snare": kit.snare, "clap": kit.clap, "hat": kit.hat, "ohat": kit.ohat,
             "perc": kit.perc, "crash": kit.crash, "boom": kit.boom,
             "tom0": kit.toms[0], "tom1": kit.toms[1], "tom2": kit.toms[2]}
    levels = {k: v * 10 ** (rng.uniform(-2, 2) / 20) for k, v in LEVELS.items()}
    patches = {name: NoteRenderer(make_patch(rng, name, genre)) for name in ("bass", "lead", "chords", "pad")}
    depth = float(rng.uniform(0.5, 0.8))

    dry = np.zeros((2, n), dtype=np.float32)
    wet = np.zeros((2, n), dtype=np.float32)  # tonal bus, side-chained from the kick in drops
    for name, events in score.hits.items():
        beats = np.array([b for b, _ in events])
        gains = np.array([g for _, g in events]) * levels[name]
        _place(dry, shots[name], beat_samples(arr, beats), gains)

    spb = 60.0 / arr.bpm * SR
    for name, notes in score.notes.items():
        synth = patches[name]
        starts = beat_samples(arr, np.array([nt.beat for nt in notes]))
        for nt, s in zip(notes, starts.tolist(), strict=True):
            shot = synth.note(nt.midi, int(round(nt.length * spb)), nt.bright0, nt.bright1, nt.lfo_beats * spb)
            e = min(n, s + shot.shape[1])
            if s < e:
                wet[:, s:e] += np.float32(nt.gain * levels[name]) * shot[:, : e - s]

    for b0, b1 in score.risers:
        s0, s1 = beat_samples(arr, np.array([b0, b1])).tolist()
        if s1 > s0:
            dry[:, s0:s1] += levels["riser"] * riser(rng, s1 - s0, f_hi=float(rng.uniform(6000, 12000)))

    wet *= _duck_env(arr, score.duck, n, depth)
    dry += wet
    del wet
    for b0, b1 in score.gaps:
        s0, s1 = beat_samples(arr, np.array([b0, b1])).tolist()
        dry[:, s0:s1] *= _gap_env(s1 - s0, arr.gap_gain)
    return _master(dry)


def _master(mix: np.ndarray) -> np.ndarray:
    """Soft-clip ``(2, n)`` and normalise to -1 dBFS peak; returns ``(n, 2)`` float32."""
    n = mix.shape[1]
    ref = float(np.percentile(np.abs(mix[:, ::16]), 99.9)) + 1e-9
    np.multiply(mix, np.float32(1.1 / ref), out=mix)
    np.tanh(mix, out=mix)
    nf = min(n, int(0.05 * SR))
    mix[:, n - nf:] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)
    peak = float(np.max(np.abs(mix))) + 1e-12
    mix *= np.float32(10 ** (PEAK_DBFS / 20) / peak)
    return np.ascontiguousarray(mix.T)


def render_track(seed: int, index: int, *, short: bool = False,
                 variety: float = 0.0) -> tuple[np.ndarray, dict[str, Any]]:
    """Render track ``index`` of corpus ``seed``.

    Returns ``(audio, truth)``: audio ``(n, 2)`` float32 at 44.1 kHz peaking at -1 dBFS; truth the
    ground-truth dict (genre, bpm, offset_s, duration_s, beats, downbeats, sections, drops; times
    in seconds) without the ``"file"`` key. ``short=True`` renders a compact test track (two
    drops, 8-bar sections, about 1-1.7 minutes); ``variety`` varies the sections' sound (see
    :func:`~djstruct.synth.arrangement.plan_arrangement`).
    """
    t0 = time.perf_counter()
    plan_ss, sound_ss = np.random.SeedSequence([seed, index]).spawn(2)
    arr = plan_arrangement(np.random.default_rng(plan_ss), genre_for(seed, index), short=short, variety=variety)
    audio = render_arrangement(arr, np.random.default_rng(sound_ss))
    truth = arr.truth(audio.shape[0] / SR)
    logger.debug("rendered %d/%d (%s, %.2f BPM, %s, %.1f s) in %.2f s", seed, index, arr.style.genre.name,
                 arr.bpm, arr.template, truth["duration_s"], time.perf_counter() - t0)
    return audio, truth
