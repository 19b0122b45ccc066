"""Harvest the cues DJs placed by hand as (noisy) training labels.

From every library reader: tracks that have user cues and a beat grid, with cue times moved onto
djstruct's timeline (:mod:`djstruct.timing`), section labels read from cue names when they name
a section, and Rekordbox's own phrase analysis (PSSI) when the library has it. Nothing is ever
written to the library.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from djstruct.errors import LibraryError
from djstruct.library import LibrarySource, iter_tracks
from djstruct.types import Cue, Phrase, Track

log = logging.getLogger(__name__)

# Usual spellings and abbreviations DJs use in cue names, per section label.
_NAME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("buildup", re.compile(r"\b(build(?:[ -]?up)?|bu|riser?|rise|up|pre[ -]?drop|b/?u)\s*\d*\b", re.I)),
    ("drop", re.compile(r"\b(drop|drp|dr|chorus|main|peak)\s*\d*\b|^d\d\b", re.I)),
    ("breakdown", re.compile(r"\b(break(?:[ -]?down)?|brk|bd|brkdwn|down|breakdwn)\s*\d*\b", re.I)),
    ("intro", re.compile(r"\b(intro|in|start|mix[ -]?in|beat[ -]?in)\s*\d*\b", re.I)),
    ("outro", re.compile(r"\b(outro|out|end|mix[ -]?out|ending)\s*\d*\b", re.I)),
)


_OFFSET = re.compile(r"(^|\s)[-+]\d+(\s|$)")


def label_from_name(name: str) -> str | None:
    """Section label a cue name stands for ("Drop 2" -> drop, "BD" -> breakdown), or None."""
    n = name.strip()
    if not n or _OFFSET.search(n):  # "-16 Drop 1", "Drop -8": a cue placed relative to a section
        return None
    for label, pat in _NAME_PATTERNS:
        if pat.search(n):
            return label
    return None


@dataclass(frozen=True)
class HarvestedTrack:
    """A library track usable for training. Times are djstruct's (offset-corrected)."""

    track: Track
    library: str
    beats: np.ndarray  # (n,) s, the library grid
    downbeats: np.ndarray  # (m,) s, the library grid's downbeats
    cues: tuple[Cue, ...]  # the user's cues, loops included (tiers flag them)
    cue_labels: tuple[str | None, ...]  # label from each cue's name
    phrases: tuple[Phrase, ...] | None

    @property
    def bpm(self) -> float:
        return self.track.grid.bpm if self.track.grid else 0.0


@dataclass(frozen=True)
class HarvestSkip:
    path: str
    reason: str


def harvest(sources: Sequence[LibrarySource]) -> Iterator[HarvestedTrack | HarvestSkip]:
    """Every track of ``sources`` with user cues and a beat grid; a HarvestSkip (with the reason)
    for each track that cannot be used, so the caller can tell the DJ why."""
    for src in sources:
        try:
            items = list(iter_tracks(src))
        except LibraryError as e:
            yield HarvestSkip(str(src.path), str(e))
            continue
        for t in items:
            if isinstance(t, LibraryError):
                yield HarvestSkip(str(t.path), t.reason)
                continue
            if not t.cues:
                yield HarvestSkip(str(t.path), "no cues")
                continue
            if t.grid is None or not t.grid.markers:
                yield HarvestSkip(str(t.path), "cues but no beat grid (analyse the track in your DJ software)")
                continue
            if not t.path.is_file():
                yield HarvestSkip(str(t.path), "file not found (moved or deleted?)")
                continue
            dur = t.duration_s or (max(c.start_s for c in t.cues) + 60.0)
            beats, pos = t.grid.beats(dur)  # readers give djstruct's timeline (see djstruct.timing)
            yield HarvestedTrack(t, src.key, beats, beats[pos == 1], t.cues,
                                 tuple(label_from_name(c.name) for c in t.cues), t.phrases)
