"""The notes and hits of every stem in every bar: the track's musical material (key, chords,
bass lines, motifs, arpeggio, stabs, percussion) and the per-bar events drawn from it.

An event is ``(beat, role, midi, length_beats, velocity)`` with ``beat`` in ``[0, 4)`` from the
bar's downbeat (swing included), ``role`` a voice of the track's :class:`~kits.SoundSet` and
``midi`` ``None`` for unpitched hits. Identical bars give identical event tuples, so the mixer
renders each distinct bar of a stem once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from djstruct.synth.patterns import MINOR_SCALE, PROGRESSIONS
from djstruct.synth.sampled.plan import Bar, Plan

logger = logging.getLogger(__name__)

Event = tuple[float, str, int | None, float, float]
SNARE_GENRES = frozenset({"dnb", "breakbeat", "dubstep", "trap", "downtempo", "ukg"})
Note16 = tuple[int, int, int]  # (16th step, length in 16ths, octave or chord tone)


@dataclass(frozen=True)
class Material:
    """Musical material of one track (16th steps; bass/motifs over one/two bars)."""

    key_root: int  # MIDI of the tonic, bass octave (33-44)
    progression: tuple[int, ...]
    bars_per_chord: int
    bass_a: tuple[Note16, ...]
    bass_b: tuple[Note16, ...]
    motif_a: tuple[Note16, ...]  # two bars: steps 0-31, tone = chord-tone index
    motif_b: tuple[Note16, ...]
    arp: tuple[int, ...]  # chord-tone index per 16th
    stabs: tuple[tuple[int, int], ...]
    perc: tuple[tuple[int, float], ...]
    chop: tuple[Note16, ...]  # vocal chops over one bar
    phrase: str
    shout: str
    layered_snare: bool

    def degree(self, pos: int) -> int:
        return self.progression[(pos // self.bars_per_chord) % len(self.progression)]

    def chord(self, degree: int, octave: int) -> tuple[int, int, int]:
        out = []
        for i in (0, 2, 4):
            d = degree + i
            out.append(self.key_root + 12 * octave + MINOR_SCALE[d % 7] + 12 * (d // 7))
        return out[0], out[1], out[2]

    def root(self, degree: int) -> int:
        m = self.key_root + MINOR_SCALE[degree]
        return m - 12 if m > 45 else m


def _bass_pattern(style: str, rng: np.random.Generator, kick: tuple[int, ...]) -> tuple[tuple[Note16, ...], ...]:
    kick_steps = {k % 16 for k in kick}
    if style == "offbeat":
        a = tuple((s, 2, 0) for s in (2, 6, 10, 14))
        b = a + ((15, 1, 1),) if rng.random() < 0.5 else tuple((s, 2, 1 if s == 10 else 0) for s in (2, 6, 10, 14))
    elif style in ("rolling", "gallop"):
        steps = [s for s in range(16) if s % 4 != 0]
        if style == "rolling" and rng.random() < 0.4:
            steps = [s for s in steps if s % 4 != 1]
        a = tuple((s, 1, 0) for s in steps)
        b = tuple((s, 1, 1 if s % 4 == 3 else 0) for s in steps)
    elif style == "tok":
        steps = sorted(int(s) for s in rng.choice([s for s in range(16) if s not in kick_steps], 5, replace=False))
        a = tuple((s, 1, 0) for s in steps)
        b = tuple((s, 1, int(i % 3 == 2)) for i, s in enumerate(steps))
    elif style in ("sub_walk", "808"):
        hits = sorted(kick_steps) or [0]
        lens = [((hits[i + 1] if i + 1 < len(hits) else 16) - h) for i, h in enumerate(hits)]
        a = tuple((h, max(2, n), 0) for h, n in zip(hits, lens, strict=True))
        b = tuple((h, max(2, n), 1 if i == len(hits) - 1 else 0) for i, (h, n) in enumerate(zip(hits, lens,
                                                                                                  strict=True)))
    elif style == "reese":
        a = ((0, 10, 0), (10, 6, 0))
        b = ((0, 6, 0), (6, 4, 1), (10, 6, 0))
    elif style == "wobble":
        a = tuple((s, 2, 0) for s in range(0, 16, 2))
        b = ((0, 3, 0), (3, 3, 1), (6, 2, 0), (8, 4, 0), (12, 1, 1), (13, 1, 0), (14, 2, 1))
    elif style == "hard_tail":
        a = tuple((s, 2, 0) for s in (2, 6, 10, 14))
        b = tuple((s, 1, 0) for s in (2, 3, 6, 7, 10, 11, 14, 15))
    else:  # pluck_bass
        a = ((0, 1, 0), (3, 1, 0), (6, 1, 1), (10, 2, 0), (13, 1, 0))
        b = ((0, 1, 0), (3, 1, 1), (8, 2, 0), (11, 1, 0), (14, 2, 1))
    return a, b


def _motif(rng: np.random.Generator, dense: bool) -> tuple[Note16, ...]:
    n = int(rng.integers(10, 17)) if dense else int(rng.integers(5, 10))
    steps = np.concatenate([[0], np.sort(rng.choice(np.arange(1, 32), n - 1, replace=False))])
    tone, out = int(rng.integers(0, 3)), []
    for i, s in enumerate(steps):
        nxt = int(steps[i + 1]) if i + 1 < len(steps) else 32
        tone = int(np.clip(tone + rng.integers(-2, 3), 0, 5))
        out.append((int(s), max(1, min(nxt - int(s), 2 if dense else 6)), tone))
    return tuple(out)


def draw_material(rng: np.random.Generator, plan: Plan) -> Material:
    from djstruct.synth.sampled.vocal import PHRASES, SHOUTS

    g, tr = plan.genre, plan.traits
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bass_a, bass_b = _bass_pattern(tr["bass"], rng, g.kick[tr["kick"]])
    dense = tr["lead"] in ("arp", "screech") or g.name in ("techno", "psytrance", "trance")
    stabs = ((0, 2), (3, 2), (6, 2), (10, 2), (12, 1)) if rng.random() < 0.5 else ((2, 2), (6, 2), (10, 2), (14, 2))
    if tr["chords"] == "gate":
        gates = rng.random(16) < 0.7
        gates[0] = True
        stabs = tuple((i, 1) for i in range(16) if gates[i])
    elif tr["chords"] == "keys":
        stabs = ((0, 3), (6, 2), (10, 4)) if rng.random() < 0.5 else ((2, 2), (6, 2), (10, 2), (14, 2))
    perc_steps = rng.choice([3, 5, 7, 9, 11, 13, 15, 6, 14], int(rng.integers(2, 5)), replace=False)
    chop_steps = np.sort(rng.choice(np.arange(0, 16, 2), int(rng.integers(3, 6)), replace=False))
    chop = tuple((int(s), 2, int(rng.integers(0, 4))) for s in chop_steps)
    return Material(
        key_root=int(rng.integers(33, 45)), progression=prog, bars_per_chord=int(rng.choice([1, 2])),
        bass_a=bass_a, bass_b=bass_b, motif_a=_motif(rng, dense), motif_b=_motif(rng, dense),
        arp=tuple(int(x) for x in rng.choice([0, 1, 2, 3, 4], 16)), stabs=stabs,
        perc=tuple((int(s), float(rng.uniform(0.5, 0.9))) for s in perc_steps), chop=chop,
        phrase=str(PHRASES[int(rng.integers(len(PHRASES)))]), shout=str(SHOUTS[int(rng.integers(len(SHOUTS)))]),
        layered_snare=bool(rng.random() < 0.3))


def _swing(step: int, swing: float) -> float:
    return step / 4.0 + (swing / 4.0 if step % 2 == 1 else 0.0)


def _half(steps: tuple[int, ...], bar: int) -> list[int]:
    """The 16th steps (0-15) of a two-bar pattern that fall in ``bar``."""
    off = 16 * (bar % 2)
    return [s - off for s in steps if off <= s < off + 16]


def drum_events(stem: str, bar: Bar, plan: Plan, mat: Material) -> tuple[Event, ...]:
    """Hits of drum stem ``stem`` (kick, snare, hats, perc, loop, rumble, cymbal, fills) in ``bar``."""
    tr, g = plan.traits, plan.genre
    v = bar.part(stem) if stem not in ("cymbal", "fills") else "on"
    ev: list[Event] = []
    sw = tr["swing"]
    if stem in ("kick", "rumble") and v:
        four = len(g.kick[tr["kick"]]) == 8 and g.kick[tr["kick"]] == tuple(range(0, 32, 4))
        if v in ("q4", "q8", "q16"):
            per = {"q4": 1, "q8": 2, "q16": 4}[v]
            ev += [(k / per, "kick", None, 0.25, 0.9) for k in range(4 * per)]
        elif v == "one":
            ev.append((0.0, "kick", None, 0.25, 1.0))
        else:
            vel = {"full": 1.0, "under": 0.5, "quiet": 0.4, "on": 1.0}.get(v, 1.0)
            for s in _half(g.kick[tr["kick"]], bar.index):
                if bar.fill and s >= 12 and four:  # the fill takes the last beat
                    continue
                ev.append((s / 4.0, "kick", None, 0.25, vel))
        if stem == "rumble":
            ev = [(b, "kick", None, 1.0, 0.8 * vel_) for b, _, _, _, vel_ in ev]
    elif stem == "snare":
        role = "snare" if g.name in SNARE_GENRES else "clap"
        if v == "full":
            for s in _half(g.snare[tr["snare"]], bar.index):
                ev.append((s / 4.0, role, None, 0.25, 1.0))
                if mat.layered_snare:
                    ev.append((s / 4.0, "snare" if role == "clap" else "clap", None, 0.25, 0.6))
    elif stem == "hats" and v:
        style = tr["hats"]
        if style in ("16", "shuffle"):
            for s in range(16):
                if style == "shuffle" and s % 4 == 1 and s not in (5, 13):
                    continue
                ev.append((_swing(s, sw), "chat", None, 0.25, 0.9 if s % 2 == 0 else 0.55))
        elif style in ("8", "ride"):
            for s in range(0, 16, 2):
                ev.append((_swing(s, sw), "ride" if style == "ride" else "chat", None, 0.5, 0.85 if s % 4 else 0.6))
        elif style == "trap":
            for s in range(0, 16, 2):
                ev.append((s / 4.0, "chat", None, 0.25, 0.8))
            if bar.index % 2 == 1:
                ev += [(3.0 + k / 6.0, "chat", None, 0.1, 0.5 + 0.08 * k) for k in range(6)]
        if v == "full" and not g.name.startswith(("trap", "dubstep")):
            ev += [(_swing(s, sw), "ohat", None, 0.5, 0.7) for s in (2, 6, 10, 14)]
    elif stem == "perc" and v:
        ev += [(_swing(s, sw), "perc", None, 0.25, vel) for s, vel in mat.perc]
    elif stem == "loop" and v:
        ev.append((0.0, "loop", None, 4.0, 0.8))
    elif stem == "cymbal":
        if bar.crash > 0:
            ev.append((0.0, "crash", None, 4.0, float(bar.crash)))
        if bar.impact:
            ev.append((0.0, "impact", None, 4.0, 1.0))
            ev.append((0.0, "boom", None, 4.0, 0.9))
    elif stem == "fills":
        if bar.fill == "snare":
            ev += [(3.0 + k / 4.0, "snare", None, 0.25, 0.45 + 0.15 * k) for k in range(4)]
        elif bar.fill == "tom":
            ev += [(x, "tom", None, 0.25, 0.85) for x in (2.0, 2.5, 3.0, 3.25, 3.5, 3.75)]
        if bar.roll:
            sec = plan.sections[bar.section]
            last = bar.pos == sec.n_bars - 1
            for beat in range(4):
                sub = 8 if last and beat == 3 and bar.roll >= 4 else bar.roll
                prog = (bar.pos + beat / 4.0) / sec.n_bars
                ev += [(beat + k / sub, "snare", None, 0.25, 0.25 + 0.75 * prog ** 1.3) for k in range(sub)]
    return tuple(e for e in ev if e[0] < bar.cut_beat)


def tonal_events(stem: str, bar: Bar, plan: Plan, mat: Material) -> tuple[Event, ...]:
    """Notes of tonal stem ``stem`` (bass, sub, chords, lead, pad, atmos, vocal) in ``bar``."""
    v = bar.part(stem)
    if not v:
        return ()
    tr = plan.traits
    deg = mat.degree(bar.pos)
    ev: list[Event] = []
    sw = tr["swing"] * 0.5
    if stem in ("bass", "sub"):
        if v == "hit":
            ev.append((0.0, "bass", mat.root(deg), 1.0, 1.0))
        elif v == "long":
            ev.append((0.0, "bass", mat.root(deg), 4.0, 0.7))
        else:
            pat = mat.bass_b if v == "alt" else mat.bass_a
            for s, ln, octv in pat:
                ev.append((_swing(s, sw), "bass", mat.root(deg) + 12 * octv, ln / 4.0, 0.9 if v != "filtered" else 0.7))
        if stem == "sub":
            ev = [(b, "sub", (m or 36) - 12 * ((m or 36) > 40), ln, vel) for b, _, m, ln, vel in ev]
    elif stem == "chords":
        tones = mat.chord(deg, 2)
        if v == "soft":
            if bar.pos % mat.bars_per_chord == 0:
                ev += [(0.0, "keys", m, 4.0 * mat.bars_per_chord, 0.55) for m in tones]
        else:
            role = "keys" if tr["chords"] == "keys" else "stab"
            for s, ln in mat.stabs:
                ev += [(_swing(s, sw), role, m, ln / 4.0, 0.8) for m in tones]
    elif stem == "lead":
        style = tr["lead"]
        if style == "arp" and v != "soft":
            tones = mat.chord(deg, 3) + tuple(m + 12 for m in mat.chord(deg, 3))
            ev += [(s / 4.0, "pluck", tones[mat.arp[s] % 6], 0.25, 0.75) for s in range(16)]
        else:
            motif = mat.motif_b if v == "alt" else mat.motif_a
            half = 16 * (bar.pos % 2)
            tones = mat.chord(deg, 3) + tuple(m + 12 for m in mat.chord(deg, 3))
            role = "pluck" if style == "pluck" else "lead"
            for s, ln, t in motif:
                if half <= s < half + 16:
                    ev.append((_swing(s - half, sw), role, tones[t % 6], ln / 4.0, 0.6 if v == "soft" else 0.85))
    elif stem == "pad":
        starts = bar.pos % mat.bars_per_chord == 0 or v == "swell"
        if starts:
            n = mat.bars_per_chord - bar.pos % mat.bars_per_chord
            ev += [(0.0, "pad", m, 4.0 * n, 0.7) for m in mat.chord(deg, 2)]
    elif stem == "atmos":
        if bar.pos % 4 == 0:
            ev.append((0.0, "atmos", mat.key_root + 12, 16.0, 0.8))
    elif stem == "vocal":
        if v == "shout":
            ev.append((min(bar.cut_beat, 3.0), "shout", mat.key_root + 24, 1.0, 1.0))
        elif v == "phrase":
            if bar.pos % 4 == 0:
                ev.append((0.0, "phrase", mat.key_root + 24, 8.0, 0.9))
        else:
            tones = mat.chord(deg, 3)
            ev += [(s / 4.0, "chop", tones[t % 3], ln / 4.0, 0.9) for s, ln, t in mat.chop]
    return tuple(e for e in ev if e[0] < bar.cut_beat or e[1] == "shout")


DRUM_STEMS: tuple[str, ...] = ("kick", "rumble", "snare", "hats", "perc", "loop", "cymbal", "fills")
TONAL_STEMS: tuple[str, ...] = ("bass", "sub", "chords", "lead", "pad", "atmos", "vocal")


def bar_events(stem: str, bar: Bar, plan: Plan, mat: Material) -> tuple[Event, ...]:
    if stem in DRUM_STEMS:
        return drum_events(stem, bar, plan, mat)
    return tonal_events(stem, bar, plan, mat)
