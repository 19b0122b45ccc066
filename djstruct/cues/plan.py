"""From an analysis to cue points, every one on a downbeat of the grid the library uses.

A :class:`~djstruct.cues.layout.Layout` says which cues to place: a memory cue at each section
start (named "Intro", "Build 1", "Drop 2", ... unique within the track; coloured by section; at most
``max_memory_cues``; none for a section shorter than ``min_section_bars``) or, with a personal
model from ``train --from-library``, at the points its learnt cue style chose
(``Analysis.cue_points``: "-16 Drop 1", ...), and hot cues from ordered rules. Hot cues take slots
A, B, C ... in time order, except those a rule pins to a slot (``slot = "C"``), which the diff
never moves (see :mod:`djstruct.cues.diff`).

The opening section's cue -- and the "Start" hot cue -- sit on the first downbeat, also when the
track (and so its first section) begins a few beats before it.

Times: the plan is in djstruct's timeline. When the library has its own beat grid (which its reader
moved into djstruct's timeline, see :mod:`djstruct.timing`) and that grid agrees with djstruct's
tempo (:func:`djstruct.cues.grid.check_grid`), its downbeats are the snap targets, so a written cue
lands exactly on the user's grid; a grid that disagrees gets no cues unless the caller chooses one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from djstruct.cues.grid import GridCheck, check_choice, check_grid, snap_grid
from djstruct.cues.layout import SLOT_LETTERS, HotRule, Layout, list_layouts, load_layout, parse_layout
from djstruct.types import Analysis, Cue, LibraryGrid

_Point = tuple[float, int, str, str]  # (time s, bar 1-based, section label, cue name)
_MEMORY_PRIORITY = ("drop", "buildup", "breakdown", "outro", "intro")


@dataclass(frozen=True)
class PlannedCue:
    """A cue djstruct wants, with the bar (1-based, on the snap grid) and why. ``fixed``: the
    layout pins this hot cue to ``cue.slot``; no other slot will do."""

    cue: Cue
    bar: int
    reason: str
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"bar": self.bar, "reason": self.reason, "fixed": self.fixed, **self.cue.to_dict()}


@dataclass(frozen=True)
class CuePlan:
    """The cues of one track. ``grid_source``: "library", "analysis" or "none" (nothing planned:
    the library grid disagrees); ``grid``: how the library grid relates to djstruct's tempo;
    ``warning``: one line for the DJ, or empty."""

    path: str
    cues: tuple[PlannedCue, ...]
    grid_source: str
    grid: GridCheck | None = None
    warning: str = ""

    @property
    def hot(self) -> list[PlannedCue]:
        return [c for c in self.cues if c.cue.kind == "hot"]

    @property
    def memory(self) -> list[PlannedCue]:
        return [c for c in self.cues if c.cue.kind == "memory"]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "grid_source": self.grid_source, "warning": self.warning,
                "grid": None if self.grid is None else self.grid.to_dict(), "cues": [c.to_dict() for c in self.cues]}


@dataclass(frozen=True)
class _Snap:
    down: np.ndarray  # downbeats, s
    bar_s: float
    end_s: float

    def at(self, t: float) -> tuple[float, int] | None:
        """The nearest downbeat and its bar; None before the first downbeat (by over half a bar)
        or after the end."""
        if t < self.down[0] - 0.5 * self.bar_s or t > self.end_s:
            return None
        i = int(np.argmin(np.abs(self.down - t)))
        return float(self.down[i]), i + 1

    def start(self, t: float) -> tuple[float, int] | None:
        """Where a section starting at ``t`` is cued: a section that starts before the first
        downbeat (a pickup, a beatless intro) is cued on the first downbeat."""
        if t <= self.down[0]:
            return float(self.down[0]), 1
        return self.at(t)


def plan_cues(analysis: Analysis, layout: Layout, library_grid: LibraryGrid | None = None,
              grid: str = "auto") -> CuePlan:
    """The cues ``layout`` asks for, on downbeats of the library grid (or of the analysis).

    ``grid``: "auto" (the library grid when it agrees with djstruct's tempo up to octaves; no cues
    when it disagrees), "library" (the library grid even when it disagrees) or "own" (djstruct's
    downbeats)."""
    check_choice(grid)
    check = check_grid(analysis, library_grid)
    warning = ""
    if check is not None and not check.agrees:
        if grid == "auto":
            return CuePlan(analysis.path, (), "none", check, f"{check.message()}: no cues planned "
                           "(choose a grid with --grid library or --grid own)")
        warning = check.message() + (": cues snapped onto the library grid anyway (--grid library)"
                                     if grid == "library" else ": cues on djstruct's own downbeats (--grid own)")
    down, source = snap_grid(analysis, library_grid, grid)
    if len(down) == 0 or not analysis.sections:
        return CuePlan(analysis.path, (), source, check, warning)
    bar_s = float(np.median(np.diff(down))) if len(down) > 1 else 4 * 60.0 / (analysis.bpm or 120.0)
    snap = _Snap(down, bar_s, analysis.duration_s)
    named, parts = _sections(analysis, layout, snap)
    cues: list[PlannedCue] = []
    if layout.memory_cues:
        cues += _memory(analysis, layout, named, parts, snap)
    cues += _hot(layout, named, snap)
    return CuePlan(analysis.path, tuple(cues), source, check, warning)


def _sections(analysis: Analysis, layout: Layout, snap: _Snap) -> tuple[list[_Point], list[_Point]]:
    """Section starts to cue, named ("Drop 2"), and new parts inside a section: a change inside a
    section (``Analysis.changes``), or a section with the same label as the one before, goes on
    ("Intro +16", "Drop 1 +16"). Parts shorter than the layout's minimum are left out (the first
    one never: the track starts there); two starts on one bar leave the later part there."""
    starts: list[tuple[float, int, str]] = []
    for i, s in enumerate(analysis.parts):
        hit = snap.start(s.start_s)
        if hit is None:
            continue
        bars = (min(s.end_s, analysis.duration_s) - max(s.start_s, float(snap.down[0]))) / snap.bar_s
        if i > 0 and bars < layout.min_section_bars - 0.25:
            continue
        if starts and starts[-1][1] == hit[1]:
            starts[-1] = (hit[0], hit[1], s.label)
            continue
        starts.append((hit[0], hit[1], s.label))
    runs: list[list[tuple[float, int, str]]] = []
    for st in starts:
        if runs and runs[-1][0][2] == st[2]:
            runs[-1].append(st)
        else:
            runs.append([st])
    total = Counter(r[0][2] for r in runs)
    counts: Counter[str] = Counter()
    named: list[_Point] = []
    parts: list[_Point] = []
    for run in runs:
        t0, bar0, label = run[0]
        counts[label] += 1
        name = layout.section_name(label, counts[label], total[label] > 1)
        named.append((t0, bar0, label, name))
        parts += [(t, bar, label, f"{name} +{bar - bar0}") for t, bar, _ in run[1:]]
    return named, parts


def _memory(analysis: Analysis, layout: Layout, named: list[_Point], parts: list[_Point],
            snap: _Snap) -> list[PlannedCue]:
    """At most ``max_memory_cues``, one per downbeat, with unique names: the opening and the
    section starts first (drops, builds, breaks, outros, intros), then parts and style points."""
    points = _style_points(analysis.cue_points, named, snap.at) if analysis.cue_points else sorted(named + parts)
    by_time: dict[float, _Point] = {}
    for p in points:
        by_time.setdefault(p[0], p)
    starts = set(named)
    first = min(by_time, default=0.0)

    def rank(p: _Point) -> tuple[int, int, int, float]:
        prio = _MEMORY_PRIORITY.index(p[2]) if p[2] in _MEMORY_PRIORITY else len(_MEMORY_PRIORITY)
        return (0 if p[0] == first else 1, 0 if p in starts else 1, prio, p[0])

    keep = sorted(sorted(by_time.values(), key=rank)[: layout.max_memory_cues])
    names = _unique([p[3] for p in keep], [p[1] for p in keep])
    return [PlannedCue(Cue("memory", t, None, None, name, layout.colors.get(label)), bar, label)
            for (t, bar, label, _), name in zip(keep, names, strict=True)]


def _unique(names: list[str], bars: list[int]) -> list[str]:
    """The names, a repeated one told apart by its bar ("Outro (bar 97)")."""
    seen = Counter(names)
    return [f"{n} (bar {b})" if seen[n] > 1 else n for n, b in zip(names, bars, strict=True)]


def _hot(layout: Layout, named: list[_Point], snap: _Snap) -> list[PlannedCue]:
    """Hot cues by rule priority, one per downbeat, at most ``max_hot_cues``: pinned ones in their
    slot, the others in the free slots in time order."""
    pinned: list[PlannedCue] = []
    loose: list[PlannedCue] = []
    times: list[float] = []
    for rule in layout.hot:
        for t, bar, label, name in _rule_targets(rule, named):
            target = snap.at(t + rule.offset_bars * snap.bar_s) if rule.offset_bars else (t, bar)
            if target is None or any(abs(x - target[0]) < 1e-6 for x in times):
                continue
            times.append(target[0])
            cue = Cue("hot", target[0], rule.slot, None, (rule.name or "{name}").format(name=name),
                      rule.color or layout.colors.get(label))
            fixed = rule.slot is not None
            (pinned if fixed else loose).append(PlannedCue(cue, target[1], label, fixed))
    pinned = sorted(pinned[: layout.max_hot_cues], key=lambda p: p.cue.slot or 0)
    free = [s for s in range(len(SLOT_LETTERS)) if s not in layout.reserved_slots]
    loose = sorted(loose[: min(max(0, layout.max_hot_cues - len(pinned)), len(free))], key=lambda p: p.cue.start_s)
    return pinned + [PlannedCue(Cue("hot", p.cue.start_s, slot, None, p.cue.name, p.cue.color), p.bar, p.reason)
                     for p, slot in zip(loose, free, strict=False)]


def _style_points(points: tuple[float, ...], named: list[_Point],
                  snap: Callable[[float], tuple[float, int] | None]) -> list[_Point]:
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


def _rule_targets(rule: HotRule, named: list[_Point]) -> list[_Point]:
    if rule.at == "first_downbeat":  # where the music starts: the opening section's downbeat
        return [(named[0][0], named[0][1], "start", rule.name or "Start")] if named else []
    matches = [n for n in named if n[2] == rule.section]
    if rule.which == "first":
        return matches[:1]
    if rule.which == "last":
        return matches[-1:]
    if isinstance(rule.which, int):
        return matches[rule.which - 1: rule.which]
    return matches


__all__ = ["CuePlan", "GridCheck", "HotRule", "Layout", "PlannedCue", "check_grid", "list_layouts", "load_layout",
           "parse_layout", "plan_cues", "snap_grid"]
