"""Genres of the sampled engine: tempo range, drum grooves (16th steps over two bars), feel, swing
and the bass, chord and lead styles a track of the genre draws from.

The beat is always where a DJ's grid puts it: half-time genres (dubstep, trap-like) keep their
snare on beat 3 (or beats 2 and 4 at 70-95 BPM), two-step and breakbeat grooves leave beats
without a kick, and sparse-kick techno puts a quiet kick under a loud rumble. Genres listed with
``pools=("heldout",)`` never appear in the training pool.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

FOUR = tuple(range(0, 32, 4))  # kick on every beat of two bars
BACKBEAT = (4, 12, 20, 28)  # snare/clap on beats 2 and 4
HALF = (8, 24)  # snare on beat 3 (half-time)


@dataclass(frozen=True)
class Genre:
    """Fixed traits of a genre (see the module docstring). Steps are 16ths over two bars (0-31)."""

    name: str
    bpm_lo: float
    bpm_hi: float
    kick: tuple[tuple[int, ...], ...]  # kick pattern options
    snare: tuple[tuple[int, ...], ...]  # snare/clap pattern options
    hats: tuple[str, ...]  # hat styles: "16", "8", "off", "shuffle", "trap", "ride"
    swing: tuple[float, float]  # delay of odd 16ths, fraction of a 16th
    bass: tuple[str, ...]  # bass styles (see parts.bass_pattern)
    chords: tuple[str, ...]  # "stabs", "gate", "keys", "none"
    lead: tuple[str, ...]  # "motif", "arp", "pluck", "screech", "none"
    pools: tuple[str, ...] = ("train", "heldout")
    sparse_kick: float = 0.0  # chance the groove's kick is quiet, under a rumble or sparse
    rumble: float = 0.0  # chance of a techno rumble (reverb-smeared low kick)
    loop: float = 0.0  # chance of a sampled break loop over the programmed drums
    distort_kick: float = 0.0
    section_scale: int = 1  # 2: sections count in 2x bars (slow genres keep 8-bar phrases short)


GENRES: dict[str, Genre] = {g.name: g for g in (
    Genre("house", 120, 126, (FOUR,), (BACKBEAT,), ("16", "8", "shuffle"), (0.0, 0.18),
          ("offbeat", "pluck_bass"), ("stabs", "keys"), ("motif", "pluck", "none")),
    Genre("deep_house", 117, 123, (FOUR,), (BACKBEAT,), ("shuffle", "8"), (0.1, 0.3),
          ("sub_walk", "offbeat"), ("keys", "stabs"), ("pluck", "none")),
    Genre("tech_house", 124, 128, (FOUR,), (BACKBEAT, (12, 28)), ("16", "shuffle"), (0.05, 0.2),
          ("rolling", "tok"), ("none", "stabs"), ("none", "arp")),
    Genre("techno", 126, 138, (FOUR,), (BACKBEAT, (), (12, 28)), ("16", "8", "ride"), (0.0, 0.1),
          ("rolling", "rumble", "tok"), ("none",), ("arp", "none", "motif"), sparse_kick=0.35, rumble=0.6),
    Genre("melodic_techno", 120, 126, (FOUR,), (BACKBEAT, (12, 28)), ("16", "8"), (0.0, 0.08),
          ("rolling", "offbeat"), ("none", "keys"), ("arp", "motif")),
    Genre("progressive", 122, 128, (FOUR,), (BACKBEAT,), ("16", "8"), (0.0, 0.1),
          ("offbeat", "rolling"), ("stabs", "gate"), ("pluck", "arp")),
    Genre("trance", 134, 140, (FOUR,), (BACKBEAT,), ("16", "8"), (0.0, 0.05),
          ("rolling", "offbeat"), ("gate",), ("motif", "arp")),
    Genre("hardstyle", 148, 158, (FOUR,), (BACKBEAT,), ("8", "16"), (0.0, 0.0),
          ("hard_tail",), ("stabs",), ("screech", "motif"), distort_kick=1.0),
    Genre("ukg", 128, 136, ((0, 10, 16, 26), (0, 10, 16, 23, 26)), (BACKBEAT,), ("shuffle",), (0.2, 0.35),
          ("sub_walk", "reese"), ("keys", "stabs"), ("pluck", "none")),
    Genre("dnb", 170, 178, ((0, 10, 16, 26), (0, 10, 18, 26), (0, 6, 10, 16, 26)), (BACKBEAT,), ("8", "16", "ride"),
          (0.0, 0.1), ("reese", "sub_walk"), ("none", "keys"), ("motif", "none"), sparse_kick=0.25, loop=0.35),
    Genre("dubstep", 138, 142, ((0, 16), (0, 3, 16, 22)), (HALF,), ("8", "trap"), (0.0, 0.05),
          ("wobble",), ("none", "stabs"), ("none", "screech")),
    Genre("breakbeat", 126, 140, ((0, 6, 10, 16, 26), (0, 10, 16, 19, 26)), ((4, 12, 20, 28), (4, 12, 20, 27, 28)),
          ("16", "8"), (0.05, 0.2), ("offbeat", "reese"), ("stabs", "none"), ("motif", "arp"), loop=0.5),
    Genre("downtempo", 82, 96, ((0, 7, 10, 16, 23, 26), (0, 10, 16, 26)), (BACKBEAT,), ("8", "shuffle"),
          (0.15, 0.33), ("sub_walk",), ("keys",), ("pluck", "motif")),
    Genre("trap", 70, 78, ((0, 11, 14, 16, 27), (0, 7, 16, 22, 27)), (BACKBEAT,), ("trap",), (0.0, 0.1),
          ("808",), ("keys", "none"), ("pluck", "motif")),
    Genre("moombahton", 104, 112, (FOUR,), ((3, 6, 11, 14, 19, 22, 27, 30),), ("8",), (0.0, 0.1),
          ("offbeat",), ("stabs",), ("motif", "pluck")),
    Genre("hardcore", 168, 180, (FOUR,), (BACKBEAT,), ("8",), (0.0, 0.0), ("hard_tail", "offbeat"), ("stabs",),
          ("screech", "motif"), distort_kick=1.0),
    # heldout-only variants: never in the training pool
    Genre("psytrance", 140, 146, (FOUR,), ((), BACKBEAT), ("16",), (0.0, 0.0), ("gallop",), ("none",),
          ("arp", "screech"), pools=("heldout",)),
    Genre("electro", 126, 132, ((0, 6, 10, 16, 22, 26), (0, 3, 10, 16, 19, 26)), (BACKBEAT,), ("16",),
          (0.0, 0.12), ("offbeat", "tok"), ("stabs",), ("arp", "motif"), pools=("heldout",)),
)}


def genres_for(pool: str) -> tuple[str, ...]:
    """Genre names ``pool`` draws from, in a fixed order."""
    return tuple(n for n, g in GENRES.items() if pool in g.pools)


def genre_for(pool: str, seed: int, index: int) -> str:
    """Genre of track ``index`` of corpus ``seed``: the pool's genres in turn (rotated by the seed)."""
    names = genres_for(pool)
    return names[(seed + index) % len(names)]


def pick_bpm(rng: np.random.Generator, g: Genre) -> float:
    """An integer tempo in the genre's range, a fractional one in about a third of tracks."""
    bpm = float(rng.integers(int(g.bpm_lo), int(g.bpm_hi) + 1))
    if rng.random() < 0.35:
        bpm = min(g.bpm_hi, bpm + float(rng.choice([0.25, 0.5, 0.75, 0.2, 0.4, 0.6, 0.8])))
    return round(bpm, 2)
