"""Score: turn an arrangement's bar plans into timed hits, notes, risers, side-chain and gaps.

All times here are in beats from the first downbeat (bar ``b`` starts at beat ``4 * b``); the
renderer maps beat ``x`` to sample ``round((offset_s + x * 60 / bpm) * 44100)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from djstruct.synth import arrangement as A
from djstruct.synth.arrangement import Arrangement, BarPlan, SectionPlan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Note:
    """A tonal note: start beat, MIDI pitch, length (beats), brightness 0-1 (``bright1`` sweeps or
    wobbles to it), wobble period (beats, 0 = none) and linear gain."""

    beat: float
    midi: int
    length: float
    bright0: float
    bright1: float | None = None
    lfo_beats: float = 0.0
    gain: float = 1.0


@dataclass
class Score:
    """Everything to render. ``hits``: one-shot name -> [(beat, gain)]; ``notes``: patch name ->
    notes; ``duck``: side-chain trigger beats; ``risers`` and ``gaps``: (start, end) beats."""

    hits: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    notes: dict[str, list[Note]] = field(default_factory=dict)
    duck: list[float] = field(default_factory=list)
    risers: list[tuple[float, float]] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)

    def hit(self, name: str, beat: float, gain: float = 1.0) -> None:
        self.hits.setdefault(name, []).append((beat, gain))

    def note(self, patch: str, note: Note) -> None:
        self.notes.setdefault(patch, []).append(note)


ROLL_SUBDIVISIONS = (1, 2, 4, 8)  # hits per beat in each quarter of a buildup: accelerating


def _progress(sec: SectionPlan, beat: float) -> float:
    """Position 0-1 of ``beat`` between a section's start and the start of its end gap."""
    start = 4 * sec.start_bar
    span = 4 * sec.n_bars - sec.gap_beats
    return min(1.0, max(0.0, (beat - start) / span))


def _bar_notes(arr: Arrangement, bar: BarPlan, sec: SectionPlan, score: Score, limit: float) -> None:
    """Bass, lead, chords and pads of one bar; nothing sounds past beat ``limit``."""
    st = arr.style
    b0 = 4.0 * bar.bar
    degree = st.chord_degree(bar.pos + sec.chord_shift * st.bars_per_chord)
    lay = bar.layers

    def add(patch: str, beat: float, midi: int, length: float, bright0: float,
            bright1: float | None = None, lfo: float = 0.0, gain: float = 1.0) -> None:
        if beat >= limit:
            return
        length = min(length, limit - beat)
        score.note(patch, Note(beat, midi, length, bright0, bright1, lfo, gain))

    if A.BASS in lay or A.BASS_LP in lay:
        drop = A.BASS in lay
        for bn in st.bass[bar.variant if drop else 0]:
            beat, length = b0 + bn.step / 4, bn.length / 4
            midi = st.bass_midi(degree, bn.octave)
            if drop:
                if bn.lfo_beats > 0:
                    lo, hi = (0.0, 1.0) if st.genre.bass_style == "wobble" else (0.2, 0.65)
                    add("bass", beat, midi, length, lo, hi, bn.lfo_beats)
                else:
                    add("bass", beat, midi, length, 0.55)
            elif sec.label == "buildup":
                p0, p1 = _progress(sec, beat), _progress(sec, beat + length)
                add("bass", beat, midi, length, 0.8 * p0, 0.8 * p1, gain=0.5)
            else:
                add("bass", beat, midi, length, 0.05, gain=0.6)

    if A.LEAD in lay or A.LEAD_LP in lay:
        motif = st.motifs[bar.variant if A.LEAD in lay else 0]
        half = 16 * (bar.pos % 2)
        for mn in motif:
            if not half <= mn.step < half + 16:
                continue
            beat = b0 + (mn.step - half) / 4
            midi = st.melody_midi(degree, mn.tone)
            if A.LEAD in lay:
                add("lead", beat, midi, mn.length / 4, 1.0, gain=0.9)
            else:
                p = _progress(sec, beat)
                bright = p if sec.label == "buildup" else 0.55 * p
                add("lead", beat, midi, mn.length / 4, bright, gain=0.55)

    if A.CHORDS in lay:
        for step, length in st.stabs:
            for midi in st.chord_midis(degree, 24):
                add("chords", b0 + step / 4, midi, length / 4, 0.85)

    if A.PAD in lay:
        prev = arr.bars[bar.bar - 1] if bar.bar > 0 else None
        starts = bar.pos % st.bars_per_chord == 0 or prev is None or prev.section != bar.section \
            or A.PAD not in prev.layers
        if starts:
            n = st.bars_per_chord - bar.pos % st.bars_per_chord
            end = b0 + 4 * min(n, sec.start_bar + sec.n_bars - bar.bar)
            end = min(end, limit)
            if sec.label == "buildup":
                bright0, bright1 = _progress(sec, b0) * 0.9, _progress(sec, end) * 0.9
            else:
                bright0 = {"intro": 0.0, "breakdown": 0.2, "drop": 0.3}.get(sec.label, 0.1)
                bright1 = None
            gain = 0.5 if sec.label in ("intro", "drop") else 1.0
            for midi in st.chord_midis(degree, 24):
                add("pad", b0, midi, end - b0, bright0, bright1, gain=gain)


def _bar_drums(arr: Arrangement, bar: BarPlan, sec: SectionPlan, score: Score, limit: float) -> None:
    st = arr.style
    spec = st.genre
    b0 = 4.0 * bar.bar
    lay = bar.layers
    fill = A.FILL in lay
    snare_name = "snare" if spec.half_time or spec.name == "dnb" else "clap"

    def hit(name: str, x: float, gain: float = 1.0) -> None:
        if b0 + x < limit:
            score.hit(name, b0 + x, gain)

    if A.KICK in lay:
        for x in spec.kick:
            if fill and x >= 3.0 and len(spec.kick) == 4:
                continue
            hit("kick", x)
            if A.DUCK in lay:
                score.duck.append(b0 + x)
    if A.CLAP in lay:
        for x in spec.snare:
            hit(snare_name, x)
            if A.DUCK in lay and spec.half_time:
                score.duck.append(b0 + x)
    if A.HAT in lay:
        for x, g in st.hats:
            if not (fill and x >= 3.0):
                hit("hat", x, g)
    if A.OHAT in lay:
        for x in st.ohats:
            hit("ohat", x, 0.8)
    if A.PERC in lay:
        for x in st.percs:
            hit("perc", x, 0.7)
    if fill:
        if arr.fill_kind == 0:
            for k in range(4):
                hit("snare", 3.0 + k / 4, 0.45 + 0.15 * k)
        else:
            for k, x in enumerate((2.0, 2.5, 3.0, 3.25, 3.5, 3.75)):
                hit(f"tom{2 - min(2, k // 2)}", x, 0.8)
    if A.CRASH in lay:
        hit("crash", 0.0)
    if A.CRASH_SOFT in lay:
        hit("crash", 0.0, 0.45)
    if A.BOOM in lay:
        hit("boom", 0.0)
    if A.ROLL in lay:
        level = min(3, 4 * bar.pos // sec.n_bars)
        sub = ROLL_SUBDIVISIONS[level]
        for k in range(4 * sub):
            x = k / sub
            hit("snare", x, 0.2 + 0.8 * _progress(sec, b0 + x) ** 1.5)


def build_score(arr: Arrangement) -> Score:
    """Collect every event of the arrangement into a :class:`Score`."""
    score = Score()
    for i, sec in enumerate(arr.sections):
        end = 4.0 * (sec.start_bar + sec.n_bars)
        if sec.gap_beats:
            score.gaps.append((end - sec.gap_beats, end))
        if A.RISER in arr.bars[sec.start_bar].layers:
            score.risers.append((4.0 * sec.start_bar, end - sec.gap_beats))
        limit = end - sec.gap_beats if sec.gap_beats else float("inf")
        for bar in arr.bars[sec.start_bar: sec.start_bar + sec.n_bars]:
            assert bar.section == i
            _bar_drums(arr, bar, sec, score, limit)
            _bar_notes(arr, bar, sec, score, limit)
    return score
