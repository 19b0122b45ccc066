"""The arrangement of one sampled track: template, sections, what plays in every bar, automation,
and the ground truth a DJ would mark.

Section boundaries are the only structural changes. Everything else that happens inside a
section — drums entering after a pad-only opening, a lead or a vocal entering mid-breakdown, a
fake drop inside a buildup, the fade of an outro, fills and crashes on phrase starts — is listed in
the truth's ``events`` but is not a boundary. Bar ``b`` starts at beat ``4 b`` after ``offset_s``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from djstruct.synth.sampled.genres import GENRES, Genre, pick_bpm

logger = logging.getLogger(__name__)

# template -> (section labels, pools that use it). "buildup!" is a buildup with a fake drop inside.
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "classic": (("intro", "buildup", "drop", "breakdown", "buildup", "drop", "outro"), ("train", "heldout")),
    "dj_tool": (("intro", "drop", "breakdown", "buildup", "drop", "outro"), ("train", "heldout")),
    "break_first": (("intro", "breakdown", "buildup", "drop", "breakdown", "buildup", "drop", "outro"),
                    ("train", "heldout")),
    "double_drop": (("intro", "buildup", "drop", "drop", "breakdown", "buildup", "drop", "outro"), ("train",)),
    "fake_drop": (("intro", "buildup!", "drop", "breakdown", "buildup", "drop", "outro"), ("train", "heldout")),
    "one_drop": (("intro", "breakdown", "buildup", "drop", "outro"), ("train",)),
    "three_drop": (("intro", "buildup", "drop", "breakdown", "buildup", "drop", "breakdown", "buildup", "drop",
                    "outro"), ("train",)),
    "drop_first": (("intro", "drop", "breakdown", "buildup", "drop", "drop", "outro"), ("train",)),
    # heldout only
    "late_double": (("intro", "buildup", "drop", "breakdown", "buildup", "drop", "drop", "outro"), ("heldout",)),
    "long_break": (("intro", "drop", "breakdown", "buildup!", "drop", "breakdown", "outro"), ("heldout",)),
    "pickup": (("intro", "buildup", "drop", "breakdown", "buildup", "drop", "outro"), ("heldout",)),
}
BARS: dict[str, tuple[tuple[int, float], ...]] = {  # label -> (bars, weight)
    "intro": ((16, 0.35), (32, 0.65)), "buildup": ((8, 0.6), (16, 0.4)), "drop": ((16, 0.45), (32, 0.55)),
    "breakdown": ((8, 0.2), (16, 0.5), (32, 0.3)), "outro": ((16, 0.45), (32, 0.55)),
}
MIN_TRACK_S, MAX_TRACK_S = 150.0, 450.0


@dataclass(frozen=True)
class Section:
    """One section: ``label``, first bar, length (bars), ``variant`` (how it is built, see
    :mod:`djstruct.synth.sampled.sections`) and the silent beats at its end (before a drop)."""

    label: str
    start_bar: int
    n_bars: int
    variant: str = ""
    gap_beats: float = 0.0

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.n_bars


@dataclass(frozen=True)
class Bar:
    """What one bar holds: ``parts`` maps each sounding stem to its variant ("" = silent); a fill,
    a crash (gain), an impact, a snare roll (hits per beat) and the beat after which it is silent."""

    index: int
    section: int
    pos: int
    parts: tuple[tuple[str, str], ...]
    fill: str = ""
    crash: float = 0.0
    impact: bool = False
    roll: int = 0
    cut_beat: float = 4.0

    def part(self, stem: str) -> str:
        for k, v in self.parts:
            if k == stem:
                return v
        return ""


@dataclass(frozen=True)
class Automation:
    """A ramp on ``target`` (a stem or bus: "music", "drums", "master") from ``bar0`` to ``bar1``
    (fractional bars): ``kind`` "lp"/"hp" (cutoff Hz, log ramp) or "gain" (dB)."""

    target: str
    kind: str
    bar0: float
    bar1: float
    v0: float
    v1: float


@dataclass(frozen=True)
class Plan:
    """Everything the renderer needs about one track's structure and timing."""

    genre: Genre
    bpm: float
    template: str
    offset_s: float
    tail_s: float
    sections: tuple[Section, ...]
    bars: tuple[Bar, ...]
    automation: tuple[Automation, ...]
    events: tuple[tuple[int, str], ...]  # (bar, what) inside sections: not boundaries
    traits: dict[str, Any] = field(default_factory=dict)

    @property
    def n_bars(self) -> int:
        return len(self.bars)

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm

    def beat_time(self, beat: float) -> float:
        return self.offset_s + beat * 60.0 / self.bpm

    @property
    def end_s(self) -> float:
        return self.beat_time(4 * self.n_bars)

    def truth(self, duration_s: float) -> dict[str, Any]:
        """Ground truth in the schema of :mod:`djstruct.synth` (times in s, rounded to 1e-4)."""
        beats = [round(self.beat_time(k), 4) for k in range(4 * self.n_bars)]
        sections = [{"start": round(self.beat_time(4 * s.start_bar), 4), "end": round(self.beat_time(4 * s.end_bar), 4),
                     "label": s.label} for s in self.sections]
        return {
            "genre": self.genre.name,
            "bpm": self.bpm,
            "offset_s": round(self.offset_s, 4),
            "duration_s": round(duration_s, 4),
            "beats": beats,
            "downbeats": beats[::4],
            "sections": sections,
            "drops": [s["start"] for s in sections if s["label"] == "drop"],
            "template": self.template,
            "section_variants": [s.variant for s in self.sections],
            "events": [{"time": round(self.beat_time(4 * b), 4), "bar": b, "what": w} for b, w in self.events],
        }


def _weighted(rng: np.random.Generator, options: tuple[tuple[int, float], ...]) -> int:
    p = np.array([w for _, w in options])
    return int(options[int(rng.choice(len(options), p=p / p.sum()))][0])


def choose_lengths(rng: np.random.Generator, labels: tuple[str, ...], bar_s: float, template: str) -> list[int]:
    """Bars per section: DJ phrase lengths, the whole track between 2.5 and 7.5 minutes."""
    best, best_err = None, np.inf
    target = rng.uniform(200.0, 400.0)
    for _ in range(64):
        lengths = []
        for lab in labels:
            base = lab.rstrip("!")
            n = _weighted(rng, BARS[base])
            if lab.endswith("!"):
                n = 16
            elif base == "buildup" and template == "pickup" and rng.random() < 0.6:
                n = 4
            lengths.append(n)
        total = sum(lengths) * bar_s
        err = abs(total - target) + (0 if MIN_TRACK_S <= total <= MAX_TRACK_S else 1e3)
        if err < best_err:
            best, best_err = lengths, err
    if best_err >= 1e3:  # slow tempo: halve the longest sections until the track fits
        assert best is not None
        while sum(best) * bar_s > MAX_TRACK_S and max(best) > 8:
            i = int(np.argmax(best))
            best[i] //= 2
    assert best is not None
    return best


def draw_frame(rng: np.random.Generator, genre: str, pool: str, short: bool) -> tuple[Genre, float, str, list[str],
                                                                                      list[int]]:
    """Genre, tempo, template, section labels and lengths of one track."""
    g = GENRES[genre]
    bpm = pick_bpm(rng, g)
    names = [t for t, (_, pools) in TEMPLATES.items() if pool in pools]
    if short:
        template = "classic"
        labels = list(TEMPLATES[template][0])
        return g, bpm, template, labels, [8] * len(labels)
    template = str(names[int(rng.integers(len(names)))])
    labels = list(TEMPLATES[template][0])
    lengths = choose_lengths(rng, tuple(labels), 240.0 / bpm, template)
    return g, bpm, template, labels, lengths
