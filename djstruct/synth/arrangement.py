"""Arrangement of a synthetic track: sections in 8/16/32-bar phrases and the layers of every bar.

A section's boundaries are the only *structural* changes; inside a section the plan adds
realistic variation that is not a boundary (hats or pads entering after 8 bars, a fill on the
last bar of a phrase, a lead variation every 8 bars in a drop), so a detector cannot score by
cutting at every 8th bar. Bar ``b`` starts at beat ``4 * b`` after ``offset_s``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from djstruct.synth.patterns import Style, draw_style

logger = logging.getLogger(__name__)

# Layer names a bar can hold (the score turns each into notes or hits).
KICK, CLAP, HAT, OHAT, PERC = "kick", "clap", "hat", "ohat", "perc"
BASS, BASS_LP, LEAD, LEAD_LP, CHORDS, PAD = "bass", "bass_lp", "lead", "lead_lp", "chords", "pad"
ROLL, RISER, CRASH, CRASH_SOFT, FILL, DUCK, BOOM = (
    "roll", "riser", "crash", "crash_soft", "fill", "duck", "boom")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "two_drop": ("intro", "buildup", "drop", "breakdown", "buildup", "drop", "outro"),
    "break_first": ("intro", "breakdown", "buildup", "drop", "breakdown", "buildup", "drop", "outro"),
    "one_drop": ("intro", "buildup", "drop", "breakdown", "outro"),
    "one_drop_short": ("intro", "buildup", "drop", "outro"),
    "drop_twice": ("intro", "buildup", "drop", "buildup", "drop", "outro"),
    "three_drop": ("intro", "buildup", "drop", "breakdown", "buildup", "drop", "breakdown", "buildup",
                   "drop", "outro"),
}
TEMPLATE_WEIGHTS: dict[str, float] = {
    "two_drop": 0.34, "break_first": 0.14, "one_drop": 0.14, "one_drop_short": 0.1,
    "drop_twice": 0.14, "three_drop": 0.14,
}
SECTION_BARS: dict[str, tuple[int, ...]] = {
    "intro": (16, 32), "buildup": (8, 16), "drop": (16, 32), "breakdown": (8, 16, 32), "outro": (16, 32),
}
MIN_TRACK_S, MAX_TRACK_S = 150.0, 414.0  # bars only: offset + tail add at most 6 s

# Variety (``plan_arrangement(variety=...)``): layers a varied section may lose or gain, each with
# its own chance, so that a section's sound is not tied to one recipe (real tracks are not: an
# intro with bass, a drop without a lead or crash, a breakdown that keeps the kick). A section
# keeps what defines it: drops their kick and bass, buildups a roll or a riser and the gap.
VARY_LOSE: dict[str, tuple[str, ...]] = {
    "intro": (HAT, OHAT, CLAP, PERC, PAD, BASS_LP), "buildup": (ROLL, RISER, PAD, LEAD_LP),
    "drop": (CLAP, OHAT, HAT, LEAD, CHORDS, PERC, PAD, CRASH, BOOM, CRASH_SOFT), "breakdown": (LEAD_LP, HAT),
    "outro": (HAT, PERC, CLAP, OHAT),
}
VARY_GAIN: dict[str, tuple[str, ...]] = {
    "intro": (BASS_LP, PAD, PERC, LEAD_LP, CHORDS), "buildup": (HAT, PERC, CHORDS), "drop": (PAD, PERC, CHORDS),
    "breakdown": (KICK, BASS_LP, PERC, CHORDS, HAT), "outro": (PAD, BASS_LP, LEAD_LP, CHORDS),
}
VARY_P_LOSE, VARY_P_GAIN = 0.3, 0.18


@dataclass(frozen=True)
class SectionPlan:
    """One section: ``label``, first bar, length in bars, the silent gap (beats) at its end and
    where in the track's chord progression it starts."""

    label: str
    start_bar: int
    n_bars: int
    gap_beats: int = 0
    chord_shift: int = 0  # the section's chords start this many chords into the progression


@dataclass(frozen=True)
class BarPlan:
    """One bar: its section, position in the section, active layers and lead/bass variant (0/1)."""

    bar: int
    section: int
    pos: int
    layers: frozenset[str]
    variant: int = 0


@dataclass(frozen=True)
class Arrangement:
    """Everything the score needs: the musical style, timing, sections and bars of one track."""

    style: Style
    template: str
    offset_s: float
    tail_s: float
    sections: tuple[SectionPlan, ...]
    bars: tuple[BarPlan, ...]
    gap_gain: float  # level left in a pre-drop gap (0 = digital silence, ~0.01 = a faint tail)
    fill_kind: int  # 0 = snare fill, 1 = tom fill

    @property
    def bpm(self) -> float:
        return self.style.bpm

    @property
    def n_bars(self) -> int:
        return len(self.bars)

    @property
    def beat_s(self) -> float:
        return 60.0 / self.style.bpm

    def beat_time(self, beat: float) -> float:
        """Time in seconds of a (possibly fractional) beat index from the first downbeat."""
        return self.offset_s + beat * 60.0 / self.style.bpm

    @property
    def end_s(self) -> float:
        """End of the last bar, in seconds (the decay tail follows)."""
        return self.beat_time(4 * self.n_bars)

    def truth(self, duration_s: float) -> dict[str, Any]:
        """Ground truth as a JSON-able dict (times in seconds, rounded to 1e-4)."""
        n_beats = 4 * self.n_bars
        beats = [round(self.beat_time(k), 4) for k in range(n_beats)]
        sections = [{"start": round(self.beat_time(4 * s.start_bar), 4),
                     "end": round(self.beat_time(4 * (s.start_bar + s.n_bars)), 4),
                     "label": s.label} for s in self.sections]
        return {
            "genre": self.style.genre.name,
            "bpm": self.style.bpm,
            "offset_s": round(self.offset_s, 4),
            "duration_s": round(duration_s, 4),
            "beats": beats,
            "downbeats": beats[::4],
            "sections": sections,
            "drops": [s["start"] for s in sections if s["label"] == "drop"],
        }


def _choose_lengths(rng: np.random.Generator, labels: tuple[str, ...], bar_s: float,
                    target_s: float) -> list[int] | None:
    """Phrase lengths (bars) per section whose total is closest to ``target_s``; None if none fits."""
    best: list[int] | None = None
    best_err = np.inf
    for _ in range(48):
        lengths = [int(rng.choice(SECTION_BARS[lab])) for lab in labels]
        total = sum(lengths) * bar_s
        if not MIN_TRACK_S <= total <= MAX_TRACK_S:
            continue
        err = abs(total - target_s)
        if err < best_err:
            best, best_err = lengths, err
    return best


def _intro(n: int, rng: np.random.Generator, fill_p: float) -> list[set[str]]:
    hats_from = 0 if n < 16 or rng.random() < 0.4 else 8
    groove_from = n // 2 if n >= 16 and rng.random() < 0.7 else n
    extra = str(rng.choice([PAD, BASS_LP, PERC, ""]))
    extra_from = n - 8 if n >= 16 else n
    bars = []
    for pos in range(n):
        lay = {KICK}
        if pos >= hats_from:
            lay.add(HAT)
        if pos >= groove_from:
            lay |= {OHAT, CLAP}
        if extra and pos >= extra_from:
            lay.add(extra)
        if pos % 8 == 7 and rng.random() < fill_p:
            lay.add(FILL)
        bars.append(lay)
    return bars


def _buildup(n: int, rng: np.random.Generator) -> list[set[str]]:
    kick_until = n // 2 if rng.random() < 0.3 else 0
    base = {ROLL, RISER, BASS_LP}
    if rng.random() < 0.75:
        base.add(PAD)
    if rng.random() < 0.35:
        base.add(LEAD_LP)
    return [base | ({KICK, HAT} if pos < kick_until else set()) for pos in range(n)]


def _drop(n: int, rng: np.random.Generator, fill_p: float, style: Style,
          traits: dict[str, bool]) -> list[set[str]]:
    base = {KICK, CLAP, HAT, OHAT, BASS, LEAD, DUCK}
    if style.stabs:
        base.add(CHORDS)
    if traits["perc"]:
        base.add(PERC)
    if traits["pad"]:
        base.add(PAD)
    bars = []
    for pos in range(n):
        lay = set(base)
        if pos == 0:
            lay.add(CRASH)
            if traits["boom"]:
                lay.add(BOOM)
        elif pos % 16 == 0 and traits["soft_crash"]:
            lay.add(CRASH_SOFT)
        if pos % 8 == 7 and rng.random() < fill_p:
            lay.add(FILL)
        bars.append(lay)
    return bars


def _breakdown(n: int, rng: np.random.Generator) -> list[set[str]]:
    lead_from = 8 if n >= 16 else int(rng.choice([0, 4]))
    hats_from = n - 8 if n >= 32 and rng.random() < 0.35 else n
    bars = []
    for pos in range(n):
        lay = {PAD}
        if pos >= lead_from:
            lay.add(LEAD_LP)
        if pos >= hats_from:
            lay.add(HAT)
        bars.append(lay)
    return bars


def _outro(n: int, rng: np.random.Generator, fill_p: float) -> list[set[str]]:
    bass_until = 8 if n >= 16 and rng.random() < 0.4 else 0
    groove_until = n // 2
    hats_until = n - 8 if n >= 16 and rng.random() < 0.5 else n
    bars = []
    for pos in range(n):
        lay = {KICK}
        if pos < hats_until:
            lay |= {HAT, PERC}
        if pos < groove_until:
            lay |= {CLAP, OHAT}
        if pos < bass_until:
            lay |= {BASS, DUCK}
        if pos % 8 == 7 and pos < n - 1 and rng.random() < fill_p:
            lay.add(FILL)
        bars.append(lay)
    return bars


def _vary(label: str, bars: list[set[str]], rng: np.random.Generator) -> list[set[str]]:
    """The section's bars with some optional layers removed and others added throughout."""
    lose = {x for x in VARY_LOSE[label] if rng.random() < VARY_P_LOSE}
    if {ROLL, RISER} <= lose:  # a buildup keeps one of the two
        lose.discard(ROLL if rng.random() < 0.5 else RISER)
    gain = {x for x in VARY_GAIN[label] if rng.random() < VARY_P_GAIN}
    return [(b - lose) | gain for b in bars]


def plan_arrangement(rng: np.random.Generator, genre: str, *, short: bool = False,
                     variety: float = 0.0) -> Arrangement:
    """Draw a complete arrangement of one track of ``genre``.

    ``short=True`` gives a compact test track: the two-drop template with 8-bar sections.
    ``variety`` (0-1) is the chance that the track is *varied*: each of its sections then loses
    or gains optional layers (:data:`VARY_LOSE`, :data:`VARY_GAIN`) and may start elsewhere in
    the chord progression. ``variety=0`` draws exactly what earlier versions drew.
    """
    style = draw_style(rng, genre)
    bar_s = 240.0 / style.bpm
    if short:
        template, lengths = "two_drop", [8] * len(TEMPLATES["two_drop"])
    else:
        names = list(TEMPLATE_WEIGHTS)
        p = np.array([TEMPLATE_WEIGHTS[k] for k in names])
        found: list[int] | None = None
        for _ in range(32):
            template = str(rng.choice(names, p=p / p.sum()))
            found = _choose_lengths(rng, TEMPLATES[template], bar_s, rng.uniform(MIN_TRACK_S, MAX_TRACK_S))
            if found is not None:
                break
        if found is None:  # unreachable with the tables above; keep a valid fallback anyway
            template, found = "two_drop", [16, 8, 16, 16, 8, 16, 16]
        lengths = found
    labels = TEMPLATES[template]

    r = rng.random()
    offset_s = round(float(rng.uniform(0.3, 3.0)), 4) if r < 0.4 else (
        round(float(rng.uniform(0.005, 0.05)), 4) if r < 0.55 else 0.0)
    fill_p = float(rng.uniform(0.25, 0.8))
    traits = {k: bool(rng.random() < q) for k, q in
              (("perc", 0.5), ("pad", 0.35), ("boom", 0.5), ("soft_crash", 0.5))}

    varied = variety > 0 and rng.random() < variety
    sections: list[SectionPlan] = []
    bars: list[BarPlan] = []
    start = 0
    for i, (label, n) in enumerate(zip(labels, lengths, strict=True)):
        gap = 0
        if label == "buildup":
            assert labels[i + 1] == "drop", "every buildup leads into a drop"
            gap = int(rng.choice([1, 2, 4]))
        if label == "intro":
            lay = _intro(n, rng, fill_p)
        elif label == "buildup":
            lay = _buildup(n, rng)
        elif label == "drop":
            lay = _drop(n, rng, fill_p, style, traits)
        elif label == "breakdown":
            lay = _breakdown(n, rng)
        else:
            lay = _outro(n, rng, fill_p)
        shift = 0
        if varied:
            lay = _vary(label, lay, rng)
            shift = int(rng.integers(1, 4)) if i > 0 and rng.random() < 0.4 else 0
        sections.append(SectionPlan(label, start, n, gap, shift))
        for pos, layers in enumerate(lay):
            variant = (pos // 8) % 2 if label == "drop" else 0
            bars.append(BarPlan(start + pos, i, pos, frozenset(layers), variant))
        start += n
    arr = Arrangement(style, template, offset_s, float(rng.uniform(1.5, 3.0)), tuple(sections), tuple(bars),
                      float(rng.choice([0.0, 0.01])), int(rng.integers(2)))
    logger.debug("planned %s %s %.2f BPM %s, %d bars, offset %.3f s", genre, template, style.bpm,
                 style.key_name, arr.n_bars, offset_s)
    return arr
