"""Frozen dataclasses handed between pipeline stages.

Track (library) -> Audio (decode) -> Activations (detector) -> Analysis (post-processing)
-> CuePlan -> CueDiff. Times are seconds from the start of the *decoded* audio (encoder delay
removed), tempi in beats per minute. Every class converts to and from plain JSON-able dicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

SECTION_LABELS: tuple[str, ...] = ("intro", "buildup", "drop", "breakdown", "outro")
SectionLabel = Literal["intro", "buildup", "drop", "breakdown", "outro"]
CueKind = Literal["hot", "memory"]


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _round_list(x: Any, nd: int) -> list[float]:
    return np.round(np.asarray(x, dtype=np.float64), nd).tolist()


@dataclass(frozen=True)
class Audio:
    """Decoded mono audio: ``samples`` (n,) float32 in [-1, 1] at ``sample_rate_hz``."""

    samples: np.ndarray
    sample_rate_hz: int
    path: Path | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate_hz)


@dataclass(frozen=True)
class Section:
    """A section of a track, ``start_s`` to ``end_s`` (s), labelled as in :data:`SECTION_LABELS`."""

    start_s: float
    end_s: float
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start_s), "end": _r(self.end_s), "label": self.label}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        return cls(float(d["start"]), float(d["end"]), str(d["label"]))


@dataclass(frozen=True)
class Energy:
    """Per-frame band energy in [0, 1]: bass (<150 Hz), mid (150-2500 Hz), high (>2500 Hz)."""

    hop_s: float
    bass: np.ndarray
    mid: np.ndarray
    high: np.ndarray

    def to_dict(self, nd: int = 3) -> dict[str, Any]:
        return {
            "hop_s": _r(self.hop_s, 6),
            "bass": _round_list(self.bass, nd),
            "mid": _round_list(self.mid, nd),
            "high": _round_list(self.high, nd),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Energy:
        def arr(k: str) -> np.ndarray:
            return np.asarray(d[k], dtype=np.float32)

        return cls(float(d["hop_s"]), arr("bass"), arr("mid"), arr("high"))


@dataclass(frozen=True)
class Analysis:
    """What a detector found in one track (the output of post-processing)."""

    path: str
    duration_s: float
    bpm: float | None
    beats: tuple[float, ...]
    downbeats: tuple[float, ...]
    sections: tuple[Section, ...]
    drops: tuple[float, ...]
    energy: Energy | None
    detector: str
    confidence: float = 0.0
    cue_points: tuple[float, ...] = ()  # where a learnt personal cue style puts cues (empty: none)
    changes: tuple[float, ...] = ()  # where a new part starts inside a section (drums in mid-intro), s

    @property
    def parts(self) -> tuple[Section, ...]:
        """The sections cut at their ``changes``: each piece keeps its section's label (an intro
        whose drums enter after 16 bars is two "intro" parts). What cue points are placed on."""
        return tuple(p for p, _ in self.marked_parts())

    def marked_parts(self) -> list[tuple[Section, bool]]:
        """:attr:`parts`, each with whether a change starts it (False: a section starts it)."""
        cuts = sorted(set(self.changes))
        out: list[tuple[Section, bool]] = []
        for s in self.sections:
            a, inner = s.start_s, False
            for c in cuts:
                if a < c < s.end_s:
                    out.append((Section(a, c, s.label), inner))
                    a, inner = c, True
            out.append((Section(a, s.end_s, s.label), inner))
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "duration_s": _r(self.duration_s),
            "bpm": None if self.bpm is None else _r(self.bpm, 3),
            "beats": _round_list(self.beats, 4),
            "downbeats": _round_list(self.downbeats, 4),
            "sections": [s.to_dict() for s in self.sections],
            "drops": [_r(d) for d in self.drops],
            "energy": None if self.energy is None else self.energy.to_dict(),
            "detector": self.detector,
            "confidence": _r(self.confidence, 3),
            "changes": [_r(c) for c in self.changes],
        }
        if self.cue_points:
            out["cue_points"] = _round_list(self.cue_points, 4)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Analysis:
        return cls(
            path=str(d["path"]),
            duration_s=float(d["duration_s"]),
            bpm=None if d.get("bpm") is None else float(d["bpm"]),
            beats=tuple(float(x) for x in d.get("beats", ())),
            downbeats=tuple(float(x) for x in d.get("downbeats", ())),
            sections=tuple(Section.from_dict(s) for s in d.get("sections", ())),
            drops=tuple(float(x) for x in d.get("drops", ())),
            energy=None if d.get("energy") is None else Energy.from_dict(d["energy"]),
            detector=str(d.get("detector", "")),
            confidence=float(d.get("confidence", 0.0)),
            cue_points=tuple(float(x) for x in d.get("cue_points", ())),
            changes=tuple(float(x) for x in d.get("changes", ())),
        )


BPM_RANGE = (20.0, 400.0)  # a grid outside this (a corrupt tag says 1e26) is not a grid
MAX_GRID_BEATS = 200_000  # 400 BPM for 8 hours: no real grid expands to more


@dataclass(frozen=True)
class GridMarker:
    """A beat-grid anchor: from ``start_s`` on, beats every 60/bpm s; ``beat_in_bar`` (1-4) is the
    position of the beat at ``start_s`` in its bar (1 = downbeat)."""

    start_s: float
    bpm: float
    beat_in_bar: int = 1

    @property
    def valid(self) -> bool:
        """Finite, not before -1 h or after 24 h, and a tempo in :data:`BPM_RANGE`."""
        return (math.isfinite(self.start_s) and math.isfinite(self.bpm) and -3600.0 < self.start_s < 86400.0
                and BPM_RANGE[0] <= self.bpm <= BPM_RANGE[1])


@dataclass(frozen=True)
class LibraryGrid:
    """A DJ application's beat grid as a list of markers (one for a constant-tempo track).
    Build it with :meth:`checked` from untrusted tags: it keeps only valid markers."""

    markers: tuple[GridMarker, ...]

    @classmethod
    def checked(cls, markers: Any) -> LibraryGrid | None:
        """A grid of the valid markers only (None when none is valid)."""
        good = tuple(m for m in markers if m.valid)
        return cls(good) if good else None

    @property
    def first_beat_s(self) -> float:
        return self.markers[0].start_s

    @property
    def bpm(self) -> float:
        return self.markers[0].bpm

    def beats(self, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Expand to ``(beat_times_s, beat_in_bar)`` up to ``duration_s``; both (n,) arrays. Invalid
        markers are skipped and at most :data:`MAX_GRID_BEATS` beats are made, so an absurd tag can
        never exhaust memory."""
        times: list[np.ndarray] = []
        pos: list[np.ndarray] = []
        ms = sorted((m for m in self.markers if m.valid), key=lambda m: m.start_s)
        duration_s = float(duration_s) if math.isfinite(duration_s) else 0.0
        left = MAX_GRID_BEATS
        for i, m in enumerate(ms):
            end = ms[i + 1].start_s if i + 1 < len(ms) else duration_s
            period = 60.0 / m.bpm
            n = min(left, max(1, int(np.ceil((end - m.start_s) / period - 1e-6))))
            k = np.arange(n)
            t = m.start_s + k * period
            keep = (k == 0) | (t <= end - 0.25 * period)  # the next marker takes over from here
            times.append(t[keep])
            pos.append((m.beat_in_bar - 1 + k[keep]) % 4 + 1)
            left -= int(keep.sum())
            if left <= 0:
                break
        if not times:
            return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64)
        return np.concatenate(times).astype(np.float64), np.concatenate(pos).astype(np.int64)

    def downbeats(self, duration_s: float) -> np.ndarray:
        t, p = self.beats(duration_s)
        return t[p == 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_beat_s": _r(self.first_beat_s),
            "bpm": _r(self.bpm, 3),
            "markers": [
                {"start_s": _r(m.start_s, 6), "bpm": _r(m.bpm, 6), "beat_in_bar": m.beat_in_bar}
                for m in self.markers
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LibraryGrid | None:
        ms = d.get("markers")
        if not ms:  # older stores kept the first beat and tempo only
            ms = [{"start_s": d["first_beat_s"], "bpm": d["bpm"]}] if d.get("bpm") else []
        return cls.checked(GridMarker(float(m["start_s"]), float(m["bpm"]), int(m.get("beat_in_bar", 1)))
                           for m in ms)


@dataclass(frozen=True)
class Cue:
    """A cue point: ``start_s`` (s), ``slot`` 0-7 for hot cues (A-H), None for memory cues; ``end_s``
    is set for loops; ``color`` is ``"#rrggbb"`` or None. JSON keys: ``start``, ``end``."""

    kind: CueKind
    start_s: float
    slot: int | None = None
    end_s: float | None = None
    name: str = ""
    color: str | None = None

    @property
    def is_loop(self) -> bool:
        return self.end_s is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "slot": self.slot,
            "start": _r(self.start_s),
            "end": None if self.end_s is None else _r(self.end_s),
            "name": self.name,
            "color": self.color,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cue:
        return cls(
            kind=d["kind"],
            start_s=float(d["start"]),
            slot=None if d.get("slot") is None else int(d["slot"]),
            end_s=None if d.get("end") is None else float(d["end"]),
            name=str(d.get("name") or ""),
            color=d.get("color"),
        )


@dataclass(frozen=True)
class Phrase:
    """A phrase from a DJ application's own analysis (e.g. Rekordbox PSSI), mapped to our labels;
    ``source_label`` is the application's own name for it."""

    start_s: float
    label: str
    source_label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start_s), "label": self.label, "source_label": self.source_label}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Phrase:
        return cls(float(d["start"]), str(d["label"]), str(d.get("source_label", "")))


@dataclass(frozen=True)
class Track:
    """One entry of a DJ library, whatever the library kind.

    ``id`` is stable across runs (the library's own id where it has one, else derived from the
    path); ``source`` names the reader (``"folder"``, ``"rekordbox-xml"``, ``"rekordbox-db"``).
    """

    id: str
    path: Path
    source: str
    duration_s: float | None = None
    bpm: float | None = None
    grid: LibraryGrid | None = None
    cues: tuple[Cue, ...] = ()
    phrases: tuple[Phrase, ...] | None = None
    title: str = ""
    artist: str = ""
    extras: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def to_dict(self) -> dict[str, Any]:
        """JSON of the track (every grid marker; ``extras`` only when they are JSON values)."""
        out: dict[str, Any] = {
            "id": self.id,
            "path": str(self.path),
            "source": self.source,
            "exists": self.exists,
            "duration_s": None if self.duration_s is None else _r(self.duration_s),
            "bpm": None if self.bpm is None else _r(self.bpm, 3),
            "grid": None if self.grid is None else self.grid.to_dict(),
            "cues": [c.to_dict() for c in self.cues],
            "phrases": None if self.phrases is None else [p.to_dict() for p in self.phrases],
            "title": self.title,
            "artist": self.artist,
        }
        extras = {k: v for k, v in self.extras.items() if _is_json(v)}
        if extras:
            out["extras"] = extras
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Track:
        grid = d.get("grid")
        phrases = d.get("phrases")
        extras = dict(d.get("extras") or {})
        if "mark_types" in extras:  # JSON turned the cue indices into strings
            extras["mark_types"] = {int(k): v for k, v in extras["mark_types"].items()}
        return cls(
            id=str(d["id"]), path=Path(d["path"]), source=str(d.get("source", "folder")),
            duration_s=None if d.get("duration_s") is None else float(d["duration_s"]),
            bpm=None if d.get("bpm") is None else float(d["bpm"]),
            grid=None if not grid else LibraryGrid.from_dict(grid),
            cues=tuple(Cue.from_dict(c) for c in d.get("cues", ())),
            phrases=None if phrases is None else tuple(Phrase.from_dict(p) for p in phrases),
            title=str(d.get("title") or ""), artist=str(d.get("artist") or ""), extras=extras,
        )


def _is_json(v: Any) -> bool:
    if v is None or isinstance(v, str | bool | int):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, list | tuple):
        return all(_is_json(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str | int) and _is_json(x) for k, x in v.items())
    return False
