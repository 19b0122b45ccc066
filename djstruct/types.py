"""Frozen dataclasses handed between pipeline stages.

Track (library) -> Audio (decode) -> Activations (detector) -> Analysis (post-processing)
-> CuePlan -> CueDiff. Times are seconds from the start of the *decoded* audio (encoder delay
removed), tempi in beats per minute. Every class converts to and from plain JSON-able dicts.
"""

from __future__ import annotations

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
    start: float
    end: float
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "label": self.label}

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
    extras: dict[str, Any] = field(default_factory=dict)
    cue_points: tuple[float, ...] = ()  # where a learnt personal cue style puts cues (empty: none)

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
        )


@dataclass(frozen=True)
class GridMarker:
    """A beat-grid anchor: from ``start_s`` on, beats every 60/bpm s; ``beat_in_bar`` (1-4) is the
    position of the beat at ``start_s`` in its bar (1 = downbeat)."""

    start_s: float
    bpm: float
    beat_in_bar: int = 1


@dataclass(frozen=True)
class LibraryGrid:
    """A DJ application's beat grid as a list of markers (one for a constant-tempo track)."""

    markers: tuple[GridMarker, ...]

    @property
    def first_beat_s(self) -> float:
        return self.markers[0].start_s

    @property
    def bpm(self) -> float:
        return self.markers[0].bpm

    def beats(self, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Expand to ``(beat_times_s, beat_in_bar)`` up to ``duration_s``; both (n,) arrays."""
        times: list[float] = []
        pos: list[int] = []
        ms = sorted(self.markers, key=lambda m: m.start_s)
        for i, m in enumerate(ms):
            end = ms[i + 1].start_s if i + 1 < len(ms) else duration_s
            if m.bpm <= 0:
                continue
            period = 60.0 / m.bpm
            n = max(1, int(np.ceil((end - m.start_s) / period - 1e-6)))
            for k in range(n):
                t = m.start_s + k * period
                if k > 0 and t > end - 0.25 * period:  # the next marker takes over from here
                    break
                times.append(t)
                pos.append((m.beat_in_bar - 1 + k) % 4 + 1)
        return np.asarray(times, dtype=np.float64), np.asarray(pos, dtype=np.int64)

    def downbeats(self, duration_s: float) -> np.ndarray:
        t, p = self.beats(duration_s)
        return t[p == 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_beat_s": _r(self.first_beat_s),
            "bpm": _r(self.bpm, 3),
            "markers": [
                {"start_s": _r(m.start_s), "bpm": _r(m.bpm, 3), "beat_in_bar": m.beat_in_bar}
                for m in self.markers
            ],
        }


@dataclass(frozen=True)
class Cue:
    """A cue point as a DJ application stores it. ``slot`` 0-7 for hot cues (A-H), None for memory
    cues; ``end`` is set for loops; ``color`` is ``"#rrggbb"`` or None."""

    kind: CueKind
    start: float
    slot: int | None = None
    end: float | None = None
    name: str = ""
    color: str | None = None

    @property
    def is_loop(self) -> bool:
        return self.end is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "slot": self.slot,
            "start": _r(self.start),
            "end": None if self.end is None else _r(self.end),
            "name": self.name,
            "color": self.color,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cue:
        return cls(
            kind=d["kind"],
            start=float(d["start"]),
            slot=None if d.get("slot") is None else int(d["slot"]),
            end=None if d.get("end") is None else float(d["end"]),
            name=str(d.get("name") or ""),
            color=d.get("color"),
        )


@dataclass(frozen=True)
class Phrase:
    """A phrase from a DJ application's own analysis (e.g. Rekordbox PSSI), mapped to our labels."""

    start: float
    label: str
    source_label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "label": self.label}


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
        return {
            "id": self.id,
            "path": str(self.path),
            "exists": self.exists,
            "duration_s": None if self.duration_s is None else _r(self.duration_s),
            "bpm": None if self.bpm is None else _r(self.bpm, 3),
            "grid": None if self.grid is None else
            {"first_beat_s": _r(self.grid.first_beat_s), "bpm": _r(self.grid.bpm, 3)},
            "cues": [c.to_dict() for c in self.cues],
            "phrases": None if self.phrases is None else [p.to_dict() for p in self.phrases],
        }
