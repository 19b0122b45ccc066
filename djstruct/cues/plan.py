"""From an analysis to cue points, every one on a downbeat of the grid the library uses.

A :class:`Layout` (TOML; presets in ``djstruct/cues/layouts/``) says which cues to place: a memory
cue at every section start (named "Intro", "Build 1", "Drop 1", ...; coloured by section) or, with
a personal model from ``train --from-library``, at the points its learnt cue style chose
(``Analysis.cue_points``: "-16 Drop 1", ...), and hot cues from ordered rules
(``at = "first_downbeat"`` or ``section = "drop"``, ``which`` = all / first / last,
``offset_bars`` such as -16 for "16 bars before the drop"). The first rule's cue prefers slot A,
the next B, and so on; the diff decides the final slots.

Times: the plan is in djstruct's timeline. When the library has its own beat grid (which its reader
moved into djstruct's timeline, see :mod:`djstruct.timing`), its downbeats are the snap targets, so
a written cue lands exactly on the user's grid.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.errors import ConfigError
from djstruct.types import Analysis, Cue, LibraryGrid

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class HotRule:
    at: str | None = None  # "first_downbeat"
    section: str | None = None  # a section label
    which: str = "all"  # all | first | last
    offset_bars: int = 0
    name: str | None = None  # may use {name}, the section's cue name
    color: str | None = None


@dataclass(frozen=True)
class Layout:
    name: str
    description: str = ""
    memory_cues: bool = True
    max_hot_cues: int = 8
    numbered: tuple[str, ...] = ("buildup", "drop", "breakdown")
    names: dict[str, str] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)
    hot: tuple[HotRule, ...] = ()

    def section_name(self, label: str, n: int) -> str:
        base = self.names.get(label, label.capitalize())
        return f"{base} {n}" if label in self.numbered else base


def list_layouts() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("djstruct.cues.layouts").iterdir() if p.name.endswith(".toml"))


def load_layout(name_or_path: str | Path) -> Layout:
    """A preset by name (``default``, ``drops``, ``minimal``) or a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(p, f"cannot read layout: {e}") from e
        return parse_layout(data, p)
    res = resources.files("djstruct.cues.layouts") / f"{name_or_path}.toml"
    if not res.is_file():
        raise ConfigError(None, f"unknown layout {name_or_path!r}; presets: {', '.join(list_layouts())}, "
                                "or give a .toml file")
    return parse_layout(tomllib.loads(res.read_text(encoding="utf-8")), str(name_or_path))


def parse_layout(data: dict[str, Any], where: str | Path) -> Layout:
    def bad(msg: str) -> ConfigError:
        return ConfigError(Path(where) if isinstance(where, Path) else None, f"layout {where}: {msg}")

    colors = {str(k): str(v) for k, v in data.get("colors", {}).items()}
    for k, v in colors.items():
        if not _COLOR.match(v):
            raise bad(f"colour {k} = {v!r} is not #rrggbb")
    rules = []
    for i, r in enumerate(data.get("hot", [])):
        if ("at" in r) == ("section" in r):
            raise bad(f"hot rule {i + 1} needs exactly one of 'at' or 'section'")
        if r.get("at") not in (None, "first_downbeat"):
            raise bad(f"hot rule {i + 1}: at = {r['at']!r} (only 'first_downbeat')")
        if r.get("which", "all") not in ("all", "first", "last"):
            raise bad(f"hot rule {i + 1}: which = {r['which']!r} (all, first or last)")
        if r.get("color") is not None and not _COLOR.match(str(r["color"])):
            raise bad(f"hot rule {i + 1}: colour {r['color']!r} is not #rrggbb")
        rules.append(HotRule(r.get("at"), r.get("section"), r.get("which", "all"), int(r.get("offset_bars", 0)),
                             r.get("name"), r.get("color")))
    max_hot = int(data.get("max_hot_cues", 8))
    if not 0 <= max_hot <= 8:
        raise bad("max_hot_cues must be 0-8")
    return Layout(str(data.get("name", where)), str(data.get("description", "")), bool(data.get("memory_cues", True)),
                  max_hot, tuple(data.get("numbered", ())), {str(k): str(v) for k, v in data.get("names", {}).items()},
                  colors, tuple(rules))


@dataclass(frozen=True)
class PlannedCue:
    """A cue djstruct wants, with the bar (1-based, on the snap grid) and why."""

    cue: Cue
    bar: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"bar": self.bar, "reason": self.reason, **self.cue.to_dict()}


@dataclass(frozen=True)
class CuePlan:
    path: str
    cues: tuple[PlannedCue, ...]
    grid_source: str  # "library" or "analysis"

    @property
    def hot(self) -> list[PlannedCue]:
        return [c for c in self.cues if c.cue.kind == "hot"]

    @property
    def memory(self) -> list[PlannedCue]:
        return [c for c in self.cues if c.cue.kind == "memory"]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "grid_source": self.grid_source, "cues": [c.to_dict() for c in self.cues]}


def snap_grid(analysis: Analysis, library_grid: LibraryGrid | None) -> tuple[np.ndarray, str]:
    """Downbeats (s, djstruct timeline) cues are snapped to: the library's grid when it has one."""
    if library_grid is not None and library_grid.markers:
        down = library_grid.downbeats(analysis.duration_s)
        down = down[down >= -1e-6]
        if len(down):
            return down, "library"
    return np.asarray(analysis.downbeats, dtype=np.float64), "analysis"


def plan_cues(analysis: Analysis, layout: Layout, library_grid: LibraryGrid | None = None) -> CuePlan:
    """The cues ``layout`` asks for, on downbeats of the library grid (or of the analysis)."""
    down, source = snap_grid(analysis, library_grid)
    if len(down) == 0 or not analysis.sections:
        return CuePlan(analysis.path, (), source)
    bar_s = float(np.median(np.diff(down))) if len(down) > 1 else 4 * 60.0 / (analysis.bpm or 120.0)

    def snap(t: float) -> tuple[float, int] | None:
        if t < down[0] - 0.5 * bar_s or t > analysis.duration_s:
            return None
        i = int(np.argmin(np.abs(down - t)))
        return float(down[i]), i + 1

    counts: dict[str, int] = {}
    named: list[tuple[float, int, str, str]] = []  # (time, bar, label, name) of each section's start
    parts: list[tuple[float, int, str, str]] = []  # a new part inside a section ("Drop 1 +16")
    prev: str | None = None
    for s in analysis.sections:
        hit = snap(s.start_s)
        if hit is not None and named and s.label == prev:  # same label again: the same section goes on
            head = named[-1]
            parts.append((hit[0], hit[1], s.label, f"{head[3]} +{hit[1] - head[1]}"))
        elif hit is not None:
            counts[s.label] = counts.get(s.label, 0) + 1
            named.append((hit[0], hit[1], s.label, layout.section_name(s.label, counts[s.label])))
        prev = s.label

    cues: list[PlannedCue] = []
    if layout.memory_cues:
        seen: set[float] = set()
        points = _style_points(analysis.cue_points, named, snap) if analysis.cue_points else sorted(named + parts)
        for t, bar, label, name in points:
            if t not in seen:
                seen.add(t)
                cues.append(PlannedCue(Cue("memory", t, None, None, name, layout.colors.get(label)), bar, label))

    hot: list[PlannedCue] = []
    for rule in layout.hot:
        for t, bar, label, name in _rule_targets(rule, named):
            target = snap(t + rule.offset_bars * bar_s) if rule.offset_bars else (t, bar)
            if target is None or any(abs(h.cue.start_s - target[0]) < 1e-6 for h in hot):
                continue
            cname = (rule.name or "{name}").format(name=name)
            color = rule.color or layout.colors.get(label)
            hot.append(PlannedCue(Cue("hot", target[0], None, None, cname, color), target[1], label))
    hot = hot[: layout.max_hot_cues]
    cues += [PlannedCue(Cue("hot", h.cue.start_s, i, None, h.cue.name, h.cue.color), h.bar, h.reason)
             for i, h in enumerate(hot)]
    return CuePlan(analysis.path, tuple(cues), source)


def _style_points(points: tuple[float, ...], named: list[tuple[float, int, str, str]],
                  snap: Callable[[float], tuple[float, int] | None]) -> list[tuple[float, int, str, str]]:
    """Memory cues where a learnt cue style puts them (``Analysis.cue_points``), named after the
    section starting there, else bars before the next drop ("-16 Drop 2"), else bars into the
    section ("Break 1 +8")."""
    out = []
    for p in points:
        hit = snap(p)
        if hit is None:
            continue
        t, bar = hit
        here = next((n for n in named if n[1] == bar), None)
        if here is not None:
            out.append(here)
            continue
        drop = next((n for n in named if n[2] == "drop" and 0 < n[1] - bar <= 64), None)
        cur = max((n for n in named if n[1] < bar), key=lambda n: n[1], default=None)
        if drop is not None:
            out.append((t, bar, "drop", f"-{drop[1] - bar} {drop[3]}"))
        elif cur is not None:
            out.append((t, bar, cur[2], f"{cur[3]} +{bar - cur[1]}"))
        else:
            out.append((t, bar, "intro", f"Bar {bar}"))
    return sorted(out)


def _rule_targets(rule: HotRule, named: list[tuple[float, int, str, str]]) -> list[tuple[float, int, str, str]]:
    if rule.at == "first_downbeat":  # where the music starts: the first section's downbeat
        return [(named[0][0], named[0][1], "start", rule.name or "Start")] if named else []
    matches = [n for n in named if n[2] == rule.section]
    if rule.which == "first":
        return matches[:1]
    if rule.which == "last":
        return matches[-1:]
    return matches
