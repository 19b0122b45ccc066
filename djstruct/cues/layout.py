"""Cue layouts: which cues to place, read from TOML (presets in ``djstruct/cues/layouts/``).

A layout says:

- ``memory_cues`` (true/false), at most ``max_memory_cues`` of them, one at each section start
  ("Intro", "Build 1", "Drop 2", ...); a section shorter than ``min_section_bars`` gets none;
- hot cues from ordered ``[[hot]]`` rules (``at = "first_downbeat"`` or ``section = "drop"``,
  ``which`` = "all", "first", "last" or n (the n-th), ``offset_bars`` such as -16, ``name``,
  ``color``, and ``slot = "C"`` to pin the cue to a fixed slot), at most ``max_hot_cues``; rule
  order is priority when there are more candidates than slots;
- ``hot_cue_order``: ``"time"`` (the default preset: djstruct's hot cues take A, B, C ... in time
  order) or ``"slots"`` (every rule names its ``slot``: the djcues / Lexicon convention where C
  always means "first drop", so muscle memory holds from track to track).

Names: labels listed in ``numbered`` always carry a number ("Drop 1"); any other label gets one
when it occurs more than once in a track ("Outro 1", "Outro 2"), so every name is unique.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from djstruct.errors import ConfigError

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
SLOT_LETTERS = "ABCDEFGH"
HOT_ORDERS = ("time", "slots")


@dataclass(frozen=True)
class HotRule:
    at: str | None = None  # "first_downbeat"
    section: str | None = None  # a section label
    which: str | int = "all"  # all | first | last | n (1-based: the n-th such section)
    offset_bars: int = 0
    name: str | None = None  # may use {name}, the section's cue name
    color: str | None = None
    slot: int | None = None  # 0 = A: pinned to this slot (fixed-function layouts)


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
    hot_cue_order: str = "time"
    max_memory_cues: int = 10
    min_section_bars: int = 4

    def section_name(self, label: str, n: int, repeated: bool = False) -> str:
        """``"Drop 2"``: the ``n``-th section of ``label``; numbered when the label is in
        ``numbered`` or occurs more than once in the track (``repeated``)."""
        base = self.names.get(label, label.capitalize())
        return f"{base} {n}" if label in self.numbered or repeated else base

    @property
    def reserved_slots(self) -> frozenset[int]:
        """Slots the layout pins to a function (``slot = ...`` rules)."""
        return frozenset(r.slot for r in self.hot if r.slot is not None)


def list_layouts() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("djstruct.cues.layouts").iterdir() if p.name.endswith(".toml"))


def load_layout(name_or_path: str | Path) -> Layout:
    """A preset by name (``default``, ``slots``, ``drops``, ``minimal``) or a TOML file."""
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


def _slot(value: Any, bad: Any, i: int) -> int | None:
    if value is None:
        return None
    s = str(value).strip().upper()
    if len(s) != 1 or s not in SLOT_LETTERS:
        raise bad(f"hot rule {i + 1}: slot = {value!r} (one of A-H)")
    return SLOT_LETTERS.index(s)


def _which(value: Any, bad: Any, i: int) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise bad(f"hot rule {i + 1}: which = {value} (counts from 1)")
        return value
    if value not in ("all", "first", "last"):
        raise bad(f"hot rule {i + 1}: which = {value!r} (all, first, last or a number)")
    return str(value)


def parse_layout(data: dict[str, Any], where: str | Path) -> Layout:
    def bad(msg: str) -> ConfigError:
        return ConfigError(Path(where) if isinstance(where, Path) else None, f"layout {where}: {msg}")

    colors = {str(k): str(v) for k, v in data.get("colors", {}).items()}
    for k, v in colors.items():
        if not _COLOR.match(v):
            raise bad(f"colour {k} = {v!r} is not #rrggbb")
    rules: list[HotRule] = []
    for i, r in enumerate(data.get("hot", [])):
        if ("at" in r) == ("section" in r):
            raise bad(f"hot rule {i + 1} needs exactly one of 'at' or 'section'")
        if r.get("at") not in (None, "first_downbeat"):
            raise bad(f"hot rule {i + 1}: at = {r['at']!r} (only 'first_downbeat')")
        which = _which(r.get("which", "all"), bad, i)
        if r.get("color") is not None and not _COLOR.match(str(r["color"])):
            raise bad(f"hot rule {i + 1}: colour {r['color']!r} is not #rrggbb")
        slot = _slot(r.get("slot"), bad, i)
        if slot is not None and r.get("section") is not None and which == "all":
            raise bad(f"hot rule {i + 1}: a pinned slot holds one cue: say which (first, last or a number)")
        if slot is not None and any(x.slot == slot for x in rules):
            raise bad(f"hot rule {i + 1}: slot {SLOT_LETTERS[slot]} is pinned twice")
        rules.append(HotRule(r.get("at"), r.get("section"), which, int(r.get("offset_bars", 0)), r.get("name"),
                             r.get("color"), slot))
    order = str(data.get("hot_cue_order", "time"))
    if order not in HOT_ORDERS:
        raise bad(f"hot_cue_order = {order!r} (time or slots)")
    if order == "slots" and any(r.slot is None for r in rules):
        raise bad("hot_cue_order = 'slots' needs a slot in every hot rule")
    max_hot = int(data.get("max_hot_cues", 8))
    if not 0 <= max_hot <= 8:
        raise bad("max_hot_cues must be 0-8")
    max_memory = int(data.get("max_memory_cues", 10))
    if not 0 <= max_memory <= 100:
        raise bad("max_memory_cues must be 0-100")
    min_bars = int(data.get("min_section_bars", 4))
    if not 0 <= min_bars <= 64:
        raise bad("min_section_bars must be 0-64")
    return Layout(str(data.get("name", where)), str(data.get("description", "")), bool(data.get("memory_cues", True)),
                  max_hot, tuple(data.get("numbered", ())), {str(k): str(v) for k, v in data.get("names", {}).items()},
                  colors, tuple(rules), order, max_memory, min_bars)
