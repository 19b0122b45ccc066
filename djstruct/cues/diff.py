"""Existing cues vs planned cues under a policy -> the list of changes (pure, no I/O).

Policies:
- ``fill`` (default): never touch a user cue; planned hot cues take free hot-cue slots (the
  preferred slot when free, else the next free one, so djstruct's cues stay in time order); a hot
  cue the layout pins to a slot (``PlannedCue.fixed``) takes that slot or none, and the skip says
  whose cue holds it; a planned cue within one beat of an existing cue is skipped.
- ``replace-own``: first remove the cues djstruct wrote before (known from the journal), then fill.
- ``replace-all``: remove every cue except loops, then fill (the caller insists on a backup).

A cue that would be removed and added back unchanged is kept, so re-running on an unchanged
analysis changes nothing under every policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from djstruct.cues.layout import SLOT_LETTERS
from djstruct.cues.plan import CuePlan, PlannedCue
from djstruct.errors import ConfigError
from djstruct.types import Cue

POLICIES = ("fill", "replace-own", "replace-all")
NO_MEMORY = "the target has no memory cues"  # the reason of every memory cue a Serato diff skips
_EPS = 2e-3  # cue times are stored with ms precision by most applications


@dataclass(frozen=True)
class CueChange:
    """``action``: keep, add, replace (an add that takes a removed cue's slot), remove or skip."""

    action: str
    cue: Cue
    bar: int | None = None
    reason: str = ""
    replaces: Cue | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"action", "reason", "bar", **cue}`` (the cue's keys: kind, slot, start, end, name, color)."""
        return {"action": self.action, "reason": self.reason, "bar": self.bar, **self.cue.to_dict()}


@dataclass(frozen=True)
class CueDiff:
    """The changes for one track; ``warning``: the plan's one line for the DJ (a grid that
    disagrees), or empty."""

    path: str
    changes: tuple[CueChange, ...]
    warning: str = ""

    @property
    def result(self) -> tuple[Cue, ...]:
        """The track's cues after applying the diff, hot cues by slot then memory cues by time."""
        out = [c.cue for c in self.changes if c.action in ("keep", "add", "replace")]
        return tuple(sorted(out, key=lambda c: (c.kind != "hot", c.slot if c.slot is not None else -1, c.start_s)))

    @property
    def written(self) -> tuple[Cue, ...]:
        """The cues this diff adds (djstruct's own, recorded in the journal)."""
        return tuple(c.cue for c in self.changes if c.action in ("add", "replace"))

    @property
    def changed(self) -> bool:
        return any(c.action in ("add", "replace", "remove") for c in self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "changes": [c.to_dict() for c in self.changes]}
        if self.warning:
            d["warning"] = self.warning
        return d


def diff_cues(
    existing: Iterable[Cue],
    plan: CuePlan,
    *,
    policy: str = "fill",
    owned: Iterable[Cue] = (),
    beat_s: float = 0.5,
    memory_supported: bool = True,
    max_slots: int = 8,
) -> CueDiff:
    """Changes that turn ``existing`` (djstruct timeline) into existing + ``plan`` under ``policy``."""
    if policy not in POLICIES:
        raise ConfigError(None, f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    owned = list(owned)
    planned = list(plan.cues)
    changes: list[CueChange] = []
    kept: list[Cue] = []
    removed: list[Cue] = []

    def same(a: Cue, b: Cue) -> bool:
        return (a.kind == b.kind and a.slot == b.slot and abs(a.start_s - b.start_s) < _EPS and a.name == b.name
                and a.color == b.color and a.end_s is None and b.end_s is None)

    for c in existing:
        ours = any(o.kind == c.kind and o.slot == c.slot and abs(o.start_s - c.start_s) < _EPS for o in owned)
        drop = not c.is_loop and (policy == "replace-all" or (policy == "replace-own" and ours))
        if drop and not any(same(c, p.cue) for p in planned):
            removed.append(c)
            changes.append(CueChange("remove", c, reason="djstruct cue" if ours else "replaced (replace-all)"))
        else:
            kept.append(c)
            changes.append(CueChange("keep", c, reason="djstruct cue" if ours else "user cue"))

    used_slots = {c.slot for c in kept if c.kind == "hot" and c.slot is not None}
    holders = {c.slot: _holder(c, owned) for c in kept if c.kind == "hot" and c.slot is not None}
    for p in planned:
        changes.append(_place(p, kept, used_slots, removed, beat_s, memory_supported, max_slots, holders))
    return CueDiff(plan.path, tuple(changes), plan.warning)


def _holder(c: Cue, owned: list[Cue]) -> str:
    """Whose hot cue this is, for the dry-run: 'your cue "Vocal"' or 'a djstruct cue'."""
    ours = any(o.kind == c.kind and o.slot == c.slot and abs(o.start_s - c.start_s) < _EPS for o in owned)
    return "a cue djstruct wrote before" if ours else (f'your cue "{c.name}"' if c.name else "your own cue")


def _place(p: PlannedCue, kept: list[Cue], used: set[int | None], removed: list[Cue], beat_s: float,
           memory_supported: bool, max_slots: int, holders: dict[int | None, str]) -> CueChange:
    c = p.cue
    if any(k.kind == c.kind and abs(k.start_s - c.start_s) < _EPS and k.name == c.name for k in kept):
        return CueChange("skip", c, p.bar, "already there")
    if c.kind == "memory":
        if not memory_supported:
            return CueChange("skip", c, p.bar, NO_MEMORY)
        if any(abs(k.start_s - c.start_s) < beat_s and not k.is_loop for k in kept):
            return CueChange("skip", c, p.bar, "within one beat of an existing cue")
        kept.append(c)
        return CueChange("add", c, p.bar, p.reason)
    if any(k.kind == "hot" and abs(k.start_s - c.start_s) < beat_s for k in kept):
        return CueChange("skip", c, p.bar, "an existing hot cue is within one beat")
    free = [s for s in range(max_slots) if s not in used]
    if p.fixed and c.slot not in free:
        return CueChange("skip", c, p.bar, f"slot {_letter(c.slot)} is taken by {holders.get(c.slot, 'another cue')}")
    if not free:
        return CueChange("skip", c, p.bar, "no free hot-cue slot")
    slot = c.slot if c.slot in free else free[0]
    reason = p.reason
    if c.slot is not None and slot != c.slot and c.slot in holders:  # not when an earlier planned cue moved up
        reason += f" (slot {_letter(c.slot)} is taken by {holders[c.slot]})"
    used.add(slot)
    placed = Cue("hot", c.start_s, slot, None, c.name, c.color)
    kept.append(placed)
    was = next((r for r in removed if r.kind == "hot" and r.slot == slot), None)
    return CueChange("replace" if was else "add", placed, p.bar, reason, replaces=was)


def _letter(slot: int | None) -> str:
    return SLOT_LETTERS[slot] if slot is not None and 0 <= slot < len(SLOT_LETTERS) else "?"
