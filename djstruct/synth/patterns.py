"""Genres and the per-track musical material of a synthetic track: tempo, key, chords, patterns.

Positions inside a bar are in beats (0.0-3.75) or in 16th steps (0-15); pitches are MIDI note
numbers; everything here is drawn once per track from the planning generator, so the renderer
only has to repeat it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

GENRE_ORDER: tuple[str, ...] = ("house", "techno", "trance", "dubstep", "dnb")
MINOR_SCALE: tuple[int, ...] = (0, 2, 3, 5, 7, 8, 10)
KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# Minor-key progressions as scale-degree indices (0 = i, 2 = III, 3 = iv, 4 = v, 5 = VI, 6 = VII).
PROGRESSIONS: tuple[tuple[int, ...], ...] = (
    (0, 5, 2, 6), (0, 6, 5, 6), (5, 6, 0, 0), (0, 3, 5, 4), (0, 5, 3, 6),
    (0, 2, 6, 5), (5, 3, 0, 6), (0, 0, 5, 6), (3, 5, 6, 0), (0, 3, 6, 2),
)

Step = tuple[int, int]  # (16th step in the bar, length in 16ths)


@dataclass(frozen=True)
class GenreSpec:
    """Fixed traits of a genre: tempo range (BPM) and drum positions in beats within a bar."""

    name: str
    bpm_lo: float
    bpm_hi: float
    kick: tuple[float, ...]
    snare: tuple[float, ...]
    bass_style: str  # "offbeat" | "rolling" | "wobble" | "reese"
    chords: bool  # chord stabs/gates in the drop
    half_time: bool = False


GENRES: dict[str, GenreSpec] = {
    "house": GenreSpec("house", 122.0, 126.0, (0, 1, 2, 3), (1, 3), "offbeat", True),
    "techno": GenreSpec("techno", 128.0, 135.0, (0, 1, 2, 3), (1, 3), "rolling", False),
    "trance": GenreSpec("trance", 136.0, 140.0, (0, 1, 2, 3), (1, 3), "rolling", True),
    "dubstep": GenreSpec("dubstep", 140.0, 140.0, (0,), (2,), "wobble", False, half_time=True),
    "dnb": GenreSpec("dnb", 172.0, 175.0, (0, 2.5), (1, 3), "reese", True),
}


@dataclass(frozen=True)
class BassNote:
    """One bass note of a one-bar pattern: start step, length (16ths), octave shift, wobble period.

    ``lfo_beats`` > 0 makes the filter wobble with that period in beats (dubstep), 0 = static.
    """

    step: int
    length: int
    octave: int = 0
    lfo_beats: float = 0.0


@dataclass(frozen=True)
class MotifNote:
    """One melody note: start step (0-31 over two bars), length in 16ths, chord-tone index."""

    step: int
    length: int
    tone: int


@dataclass(frozen=True)
class Style:
    """The musical material of one track (all drawn once, repeated by the score)."""

    genre: GenreSpec
    bpm: float
    key_root: int  # MIDI of the tonic in the bass octave (28-39)
    progression: tuple[int, ...]  # scale degrees, one chord per ``bars_per_chord`` bars
    bars_per_chord: int
    hats: tuple[tuple[float, float], ...]  # closed hats: (beat, gain) in a bar
    ohats: tuple[float, ...]  # open hats (beats)
    percs: tuple[float, ...]  # percussion (rim/shaker) beats
    bass: tuple[tuple[BassNote, ...], tuple[BassNote, ...]]  # variants A, B
    stabs: tuple[Step, ...]  # chord rhythm in the drop (empty = no chords)
    motifs: tuple[tuple[MotifNote, ...], tuple[MotifNote, ...]]  # lead melody A, B (2 bars)
    seventh: bool  # voice chords with a 7th

    @property
    def key_name(self) -> str:
        return KEY_NAMES[self.key_root % 12] + "m"

    def chord_degree(self, pos: int) -> int:
        """Scale degree of the chord playing in bar ``pos`` of a section."""
        return self.progression[(pos // self.bars_per_chord) % len(self.progression)]

    def bass_midi(self, degree: int, octave: int = 0) -> int:
        """Bass pitch of a chord root, kept in MIDI 28-43 (41-98 Hz) before the octave shift."""
        m = self.key_root + MINOR_SCALE[degree]
        while m > 43:
            m -= 12
        return m + 12 * octave

    def chord_midis(self, degree: int, base: int) -> tuple[int, ...]:
        """Chord tones (triad or 7th) of a scale degree, rooted one to three octaves above the key."""
        idx = (0, 2, 4, 6) if self.seventh else (0, 2, 4)
        out = []
        for i in idx:
            d = degree + i
            out.append(self.key_root + base + MINOR_SCALE[d % 7] + 12 * (d // 7))
        return tuple(out)

    def melody_midi(self, degree: int, tone: int) -> int:
        """Pitch of chord tone ``tone`` (0, 1, 2 = root, third, fifth; 3+ next octave) of a chord."""
        tri = self.chord_midis(degree, 36)[:3]
        return tri[tone % 3] + 12 * (tone // 3)


def pick_bpm(rng: np.random.Generator, spec: GenreSpec) -> float:
    """Tempo in BPM: an integer in the genre range, a non-integer in about a third of tracks."""
    if spec.bpm_lo == spec.bpm_hi:
        return float(spec.bpm_lo)
    bpm = float(rng.integers(int(spec.bpm_lo), int(spec.bpm_hi) + 1))
    if rng.random() < 0.45:
        frac = float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9]))
        bpm = bpm + frac if bpm + frac <= spec.bpm_hi else bpm - 1 + frac
    return round(bpm, 2)


def _hats(rng: np.random.Generator, spec: GenreSpec) -> tuple[tuple[float, float], ...]:
    kind = int(rng.integers(3))
    if spec.name == "dnb":
        kind = min(kind, 1)
    if kind == 0:  # 16ths with accents on the 8ths
        return tuple((i / 4, 0.9 if i % 2 == 0 else 0.5) for i in range(16))
    if kind == 1:  # 8ths
        return tuple((i / 2, 0.8 if i % 2 else 0.55) for i in range(8))
    return tuple((i / 4, 0.7) for i in range(16) if i % 4 != 0)  # 16ths off the kick


def _bass(
    rng: np.random.Generator, spec: GenreSpec
) -> tuple[tuple[BassNote, ...], tuple[BassNote, ...]]:
    style = spec.bass_style
    if style == "offbeat":
        a = tuple(BassNote(s, 2) for s in (2, 6, 10, 14))
        extra = int(rng.integers(3))
        b = a + ((BassNote(15, 1, 1),) if extra == 0 else (BassNote(7, 1, 1), BassNote(15, 1)))
        return a, tuple(sorted(b, key=lambda n: n.step))
    if style == "rolling":
        steps = [s for s in range(16) if s % 4 != 0]
        if rng.random() < 0.5:
            steps = [s for s in steps if s % 4 != 1]
        a = tuple(BassNote(s, 1) for s in steps)
        b = tuple(BassNote(s, 1, 1 if s % 4 == 3 else 0) for s in steps)
        return a, b
    if style == "wobble":
        rates = [0.5, 1 / 3, 0.25, 1.0, 1 / 6]
        pick = [float(rates[i]) for i in rng.permutation(len(rates))[:4]]
        a = (BassNote(0, 8, 0, pick[0]), BassNote(8, 6, 0, pick[1]), BassNote(14, 2, 1, 0.0))
        b = (BassNote(0, 4, 0, pick[2]), BassNote(4, 4, 1, pick[2]), BassNote(8, 8, 0, pick[3]))
        return a, b
    # reese (drum & bass): long detuned notes following the two-step kick
    a = (BassNote(0, 10, 0, 2.0), BassNote(10, 6, 0, 2.0))
    b = (BassNote(0, 6, 0, 1.0), BassNote(6, 4, 1, 0.0), BassNote(10, 6, 0, 1.0))
    return a, b


def _stabs(rng: np.random.Generator, spec: GenreSpec) -> tuple[Step, ...]:
    if not spec.chords:
        return ()
    if spec.name == "trance":  # trance gate: chopped 16ths
        gates = rng.random(16) < 0.7
        gates[0] = True
        return tuple((i, 1) for i in range(16) if gates[i])
    choices: list[tuple[Step, ...]] = [
        ((0, 2), (3, 2), (6, 2), (10, 2), (12, 1)),
        ((2, 2), (6, 2), (10, 2), (14, 2)),
        ((0, 3), (6, 2), (10, 4)),
        ((0, 1), (3, 1), (6, 1), (8, 2), (11, 1), (14, 2)),
    ]
    return choices[int(rng.integers(len(choices)))]


def _motif(rng: np.random.Generator, dense: bool) -> tuple[MotifNote, ...]:
    """A two-bar melody: sorted steps on the 16th grid, lengths up to the next note."""
    n = int(rng.integers(10, 18)) if dense else int(rng.integers(5, 11))
    steps = np.sort(rng.choice(np.arange(1, 32), size=n - 1, replace=False))
    steps = np.concatenate([[0], steps])
    tone = int(rng.integers(0, 4))
    notes = []
    for i, s in enumerate(steps):
        nxt = int(steps[i + 1]) if i + 1 < len(steps) else 32
        length = max(1, min(nxt - int(s), 1 if dense else 4))
        tone = int(np.clip(tone + rng.integers(-2, 3), 0, 5))
        notes.append(MotifNote(int(s), length, tone))
    return tuple(notes)


def draw_style(rng: np.random.Generator, genre: str) -> Style:
    """Draw all the musical material of one track of ``genre``."""
    spec = GENRES[genre]
    bpm = pick_bpm(rng, spec)
    key_root = int(rng.integers(28, 40))
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    if rng.random() < 0.3:  # an 8-chord progression: two progressions back to back
        prog = prog + PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bars_per_chord = 1 if len(prog) == 8 else int(rng.choice([1, 2]))
    ohats = (0.5, 1.5, 2.5, 3.5) if not spec.half_time else (1.5, 3.5)
    percs = tuple(float(x) for x in rng.choice([0.75, 1.25, 1.75, 2.75, 3.25, 3.75], 2, replace=False))
    dense = genre == "techno"
    motifs = (_motif(rng, dense), _motif(rng, dense))
    return Style(spec, bpm, key_root, prog, bars_per_chord, _hats(rng, spec), ohats, percs,
                 _bass(rng, spec), _stabs(rng, spec), motifs, bool(rng.random() < 0.4))
