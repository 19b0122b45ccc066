"""``djmdCue`` rows for djstruct's cues: pure planning, no database access.

Column values follow what the public writers put there, checked against each other
(mganss/CueGen ``Generator.cs`` + ``Cue.cs``; djcues 0.1.0 ``writer.py``, whose hot cue values its
author checked against rows rekordbox wrote):

============================  ==========================================================
``Kind``                      0 memory cue; hot cues A-H = 1, 2, 3, 5, 6, 7, 8, 9. Both tools
                              skip 4 (CueGen: next kind = max + 1, 4 -> 5; djcues: D = 5);
                              CueGen writes 4 for a *memory loop*, so 4 is not a hot cue.
``InMsec`` / ``InFrame``      ms (int); ``InFrame`` = ms x 150 / 1000 (CueGen; djcues writes 0)
``OutMsec`` / ``OutFrame``    -1 / -1 for a cue (djcues; CueGen -1 / 0). Loops are not written.
``InMpegFrame``/``InMpegAbs`` 0; ``OutMpegFrame``/``OutMpegAbs`` -1 (djcues)
``Color``                     -1 for hot cues (both); memory cues -1 too (see below)
``ColorTableIndex``           hot cues: index into rekordbox's 16-colour hot cue palette
                              (:data:`HOT_CUE_PALETTE`); None for memory cues (both tools)
``ActiveLoop``, ``BeatLoopSize``, ``CueMicrosec``   -1, 0, 0 (djcues)
``Comment``                   the cue's name
``ContentID`` / ``ContentUUID``  the track's ``djmdContent.ID`` / ``UUID``
``UUID``                      :func:`djstruct_uuid`: marks the row as djstruct's
============================  ==========================================================

:data:`HOT_CUE_PALETTE` is the set of ``ColorTableIndex`` values CueGen offers (rekordbox's picker
order) with the RGB rekordbox writes for them in XML exports; 10 of the 16 RGB values occur in a
real rekordbox 6.6.1 export of 370 coloured hot cues (and nothing else does). Memory cue colours
live in ``Color`` with a meaning the two tools disagree on (CueGen 0-7, djcues 1-7), so memory cues
get no colour (-1) rather than a guessed one.

djstruct's rows carry a UUID whose first group is :data:`UUID_PREFIX` and whose rest is a
name-based UUID of (content id, row id): replace-own and undo recognise them by the prefix (and
the change record), CueGen does the same with its own prefix.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from djstruct.types import Cue

UUID_PREFIX = "d7a5c0de-"
_NAMESPACE = uuid.UUID("5d1f3a52-7c0b-4c1e-9a57-64a1d7a5c0de")
SLOT_TO_KIND: tuple[int, ...] = (1, 2, 3, 5, 6, 7, 8, 9)
KIND_TO_SLOT: dict[int, int] = {k: i for i, k in enumerate(SLOT_TO_KIND)}
DEFAULT_HOT_CUE_INDEX = 22  # #28e214, rekordbox's default hot cue green
HOT_CUE_PALETTE: dict[int, str] = {
    1: "#305aff", 5: "#50b4ff", 9: "#00e0ff", 14: "#1fa392", 18: "#10b176", 22: "#28e214", 26: "#a5e116",
    30: "#b4be04", 32: "#c3af04", 38: "#e0641b", 42: "#e62828", 45: "#ff127b", 49: "#de44cf", 56: "#b432ff",
    60: "#aa72ff", 62: "#6473ff",
}
MS_PER_FRAME = 1000.0 / 150.0


def djstruct_uuid(content_id: str, row_id: str) -> str:
    """A UUID for a djstruct row: :data:`UUID_PREFIX` + the rest of uuid5(content id, row id)."""
    return UUID_PREFIX + str(uuid.uuid5(_NAMESPACE, f"{content_id}/{row_id}"))[len(UUID_PREFIX):]


def is_djstruct_row(row: Mapping[str, Any]) -> bool:
    return str(row.get("UUID") or "").startswith(UUID_PREFIX)


def palette_index(color: str | None) -> int:
    """The hot cue palette index nearest to ``"#rrggbb"`` (the default green for None)."""
    if not color:
        return DEFAULT_HOT_CUE_INDEX
    rgb = int(color[1:], 16)
    r, g, b = rgb >> 16, rgb >> 8 & 255, rgb & 255

    def dist(idx: int) -> float:
        v = int(HOT_CUE_PALETTE[idx][1:], 16)
        return (r - (v >> 16)) ** 2 + (g - (v >> 8 & 255)) ** 2 + (b - (v & 255)) ** 2

    return min(HOT_CUE_PALETTE, key=dist)


def palette_color(index: object) -> str | None:
    """The RGB of a hot cue ``ColorTableIndex`` (None when it is not one of the palette's)."""
    try:
        return HOT_CUE_PALETTE.get(int(index))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def stored_color(cue: Cue) -> str | None:
    """The colour ``cue`` has once written and read back: hot cues the nearest palette colour,
    memory cues none (see the module doc)."""
    return HOT_CUE_PALETTE[palette_index(cue.color)] if cue.kind == "hot" else None


def cue_problem(cue: Cue) -> str:
    """Why ``cue`` cannot be written as a ``djmdCue`` row ("" when it can)."""
    if cue.is_loop:
        return "loops are not written to master.db (their rekordbox Kind/ActiveLoop values are not known)"
    if cue.kind == "hot" and (cue.slot is None or not 0 <= cue.slot <= 7):
        return f"hot cue slot must be 0-7 (A-H), got {cue.slot!r}"
    if cue.kind not in ("hot", "memory") or (cue.kind == "memory" and cue.slot is not None):
        return "not a hot cue (slot 0-7) or a memory cue (no slot)"
    if not math.isfinite(cue.start_s) or not 0 <= cue.start_s < 86400:
        return f"start {cue.start_s!r} s is not a time in the track"
    if cue.color is not None and (len(cue.color) != 7 or cue.color[0] != "#"):
        return f"colour {cue.color!r} is not '#rrggbb'"
    return ""


def cue_values(cue: Cue, content_id: str, content_uuid: str | None, row_id: str) -> dict[str, Any]:
    """The ``djmdCue`` column values of a new row (without the bookkeeping columns)."""
    in_ms = int(round(cue.start_s * 1000.0))
    hot = cue.kind == "hot"
    return {
        "ID": row_id, "ContentID": content_id, "ContentUUID": content_uuid, "UUID": djstruct_uuid(content_id, row_id),
        "InMsec": in_ms, "InFrame": int(in_ms * 150 / 1000), "InMpegFrame": 0, "InMpegAbs": 0,
        "OutMsec": -1, "OutFrame": -1, "OutMpegFrame": -1, "OutMpegAbs": -1,
        "Kind": SLOT_TO_KIND[int(cue.slot or 0)] if hot else 0,
        "Color": -1, "ColorTableIndex": palette_index(cue.color) if hot else None,
        "ActiveLoop": -1, "Comment": cue.name, "BeatLoopSize": 0, "CueMicrosec": 0,
    }


def row_slot(row: Mapping[str, Any]) -> int | None:
    """Hot cue slot (0-7) of a ``djmdCue`` row, None for a memory cue or an unknown kind."""
    try:
        kind = int(row.get("Kind") or 0)
    except (TypeError, ValueError):
        return None
    return KIND_TO_SLOT.get(kind)


@dataclass
class TrackPlan:
    """One content's planned change: rows to insert (values) and own rows to delete (their IDs)."""

    content_id: str
    insert: list[Cue] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    error: str = ""


def plan_track(content_id: str, rows: Sequence[Mapping[str, Any]], add: Sequence[Cue],
               remove: Sequence[Cue]) -> TrackPlan:
    """Plan one track from its live ``djmdCue`` rows (dicts with ID, Kind, InMsec, UUID,
    rb_local_deleted). ``remove`` lists djstruct's earlier cues; only rows djstruct wrote can match."""
    plan = TrackPlan(content_id)
    live = [r for r in rows if not int(r.get("rb_local_deleted") or 0)]
    for cue in remove:
        ms = int(round(cue.start_s * 1000.0))
        slot = cue.slot if cue.kind == "hot" else None
        hit = next((r for r in live if is_djstruct_row(r) and str(r["ID"]) not in plan.delete
                    and row_slot(r) == slot and (slot is not None or int(r.get("Kind") or 0) == 0)
                    and abs(int(r.get("InMsec") or 0) - ms) <= 1), None)
        if hit is None:
            plan.not_found.append(f"{cue.name or cue.kind} at {cue.start_s:.3f} s")
        else:
            plan.delete.append(str(hit["ID"]))
    taken = {row_slot(r) for r in live if str(r["ID"]) not in plan.delete} - {None}
    for cue in add:
        problem = cue_problem(cue)
        if not problem and cue.kind == "hot" and cue.slot in taken:
            problem = f"hot cue {'ABCDEFGH'[int(cue.slot or 0)]} is already used"
        if problem:
            plan.error = f"cue at {cue.start_s:.3f} s: {problem}"
            plan.insert, plan.delete = [], []
            return plan
        if cue.kind == "hot":
            taken.add(cue.slot)
        plan.insert.append(cue)
    return plan
