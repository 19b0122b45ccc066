"""Write cues into a Traktor collection (``collection.nml``) without touching anything else.

:func:`plan_nml` (dry run, no I/O but the read) and :func:`write_nml` take, per track id
(``"nml:<key>"`` from :func:`~djstruct.library.traktor.nml.read_nml`), cues to *add* and
djstruct's own earlier cues to *remove* (replace-own). Times are on Traktor's timeline, in seconds
(the caller converts with :mod:`djstruct.timing`). The file is edited as bytes: new ``CUE_V2``
elements are inserted after the entry's last ``CUE_V2`` (or last child), in the file's own layout
(the separator between an entry's children and ``<X/>`` versus ``<X></X>``), and removed ones are
cut out with the whitespace before them. Every other byte stays: an unchanged file is written back
byte for byte, and removing what was added gives the original bytes back. The DJ's cues, the grid
markers (``TYPE`` 4), fades and load markers are never touched; a hot cue slot already used by any
of them is refused.

New elements are written as Traktor writes them::

    <CUE_V2 NAME="Drop 1" DISPL_ORDER="0" TYPE="0" START="61234.567000" LEN="0.000000" REPEATS="-1" HOTCUE="2"/>

(``TYPE`` 0 cue or 5 loop with ``LEN``, ``HOTCUE`` -1 for a memory cue, ``NAME`` ``n.n.`` when
unnamed; Traktor 3 has no per-cue colour, so colours are dropped).

How djstruct knows its own cues later (replace-own, undo): exact match against the record of what
it wrote (:class:`NmlCue`: entry key, ``TYPE``, ``HOTCUE``, ``NAME``; ``START``/``LEN`` within
1 us, so a re-save by Traktor, which keeps 6 decimals, still matches). A cue the DJ moved or renamed
no longer matches and is theirs from then on. No marker is stored in the file: Traktor drops
attributes it does not know when it saves.

Safety: refuses while Traktor runs; in place, a timestamped backup is made first; the new bytes are
parsed back and compared element by element with the old (every element and attribute kept, only
the planned cues added/removed) before an atomic rename.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from djstruct.errors import DjstructError, LibraryError, WritebackError
from djstruct.library.traktor.nml import ID_PREFIX, UNNAMED, tracks_from_document
from djstruct.library.traktor.running import refuse_if_running
from djstruct.library.traktor.spans import NmlDocument, Span, parse_nml
from djstruct.library.traktor.verify import compare_nml
from djstruct.safe_write import atomic_write_bytes, file_sha256
from djstruct.timing import offset_s
from djstruct.types import Cue

logger = logging.getLogger(__name__)

OWN_TYPES = frozenset({"0", "5"})
_ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
START_TOLERANCE_MS = 1e-3


@dataclass(frozen=True)
class NmlCue:
    """A ``CUE_V2`` djstruct wrote (or removed): the entry it belongs to, its attributes in file
    order and its exact text."""

    track_id: str
    attrs: tuple[tuple[str, str], ...]
    text: str

    def attr(self, name: str) -> str:
        return dict(self.attrs).get(name, "")

    def to_dict(self) -> dict[str, Any]:
        return {"track_id": self.track_id, "attrs": [list(a) for a in self.attrs], "text": self.text}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NmlCue:
        return cls(str(d["track_id"]), tuple((str(k), str(v)) for k, v in d["attrs"]), str(d["text"]))


@dataclass(frozen=True)
class NmlPlan:
    """What a write would do: cues added/removed, tracks refused (id, reason), the new bytes."""

    src: Path
    added: tuple[NmlCue, ...]
    removed: tuple[NmlCue, ...]
    failed: tuple[tuple[str, str], ...]
    not_found: tuple[tuple[str, str], ...]  # own cues asked to be removed that are no longer there
    data: bytes = field(repr=False, default=b"")
    original: bytes = field(repr=False, default=b"")

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class NmlWriteRecord:
    """What :func:`write_nml` changed, JSON-able (``to_dict``) for the journal; undo needs only this."""

    src: str
    out: str
    backup: str | None
    added: tuple[NmlCue, ...]
    removed: tuple[NmlCue, ...]
    failed: tuple[tuple[str, str], ...]
    before_sha256: str | None
    after_sha256: str
    written_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"src": self.src, "out": self.out, "backup": self.backup,
                "added": [c.to_dict() for c in self.added], "removed": [c.to_dict() for c in self.removed],
                "failed": [list(f) for f in self.failed], "before_sha256": self.before_sha256,
                "after_sha256": self.after_sha256, "written_at": self.written_at}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NmlWriteRecord:
        return cls(str(d["src"]), str(d["out"]), d.get("backup"), tuple(NmlCue.from_dict(c) for c in d["added"]),
                   tuple(NmlCue.from_dict(c) for c in d["removed"]), tuple((str(a), str(b)) for a, b in d["failed"]),
                   d.get("before_sha256"), str(d["after_sha256"]), float(d["written_at"]))


# ---------------------------------------------------------------------------------------------
# formatting and matching


def _escape(value: str) -> str:
    return "".join(_ESC.get(ch) or (f"&#{ord(ch)};" if ord(ch) < 32 else ch) for ch in value)


def cue_attrs(cue: Cue) -> tuple[tuple[str, str], ...]:
    """The ``CUE_V2`` attributes for ``cue`` (times in seconds on Traktor's timeline)."""
    length = 0.0 if cue.end_s is None else (cue.end_s - cue.start_s) * 1000.0
    return (("NAME", cue.name or UNNAMED), ("DISPL_ORDER", "0"), ("TYPE", "5" if cue.end_s is not None else "0"),
            ("START", f"{cue.start_s * 1000.0:.6f}"), ("LEN", f"{length:.6f}"), ("REPEATS", "-1"),
            ("HOTCUE", str(cue.slot) if cue.kind == "hot" else "-1"))


def cue_text(attrs: Sequence[tuple[str, str]], self_closing: bool) -> str:
    body = " ".join(f'{k}="{_escape(v)}"' for k, v in attrs)
    return f"<CUE_V2 {body}/>" if self_closing else f"<CUE_V2 {body}></CUE_V2>"


def _close(a: str, b: str) -> bool:
    try:
        return abs(float(a) - float(b)) <= START_TOLERANCE_MS
    except ValueError:
        return a == b


def matches(span: Span, attrs: Mapping[str, str]) -> bool:
    """True when the file's ``CUE_V2`` ``span`` is the cue described by ``attrs`` (see module doc)."""
    got = span.attrs
    return (span.tag == "CUE_V2" and got.get("TYPE") in OWN_TYPES
            and all(got.get(k, "") == attrs.get(k, "") for k in ("TYPE", "HOTCUE", "NAME"))
            and _close(got.get("START", ""), attrs.get("START", ""))
            and _close(got.get("LEN", "0"), attrs.get("LEN", "0")))


def _check(cue: Cue) -> str:
    if cue.kind == "hot" and (cue.slot is None or not 0 <= cue.slot <= 7):
        return f"hot cue slot must be 0-7, got {cue.slot!r}"
    if cue.kind not in ("hot", "memory") or (cue.kind == "memory" and cue.slot is not None):
        return "not a hot cue (slot 0-7) or a memory cue (no slot)"
    if not math.isfinite(cue.start_s) or not 0 <= cue.start_s < 86400:
        return f"start {cue.start_s!r} s is not a time in the track"
    if cue.end_s is not None and not (math.isfinite(cue.end_s) and cue.end_s > cue.start_s + 1e-6):
        return f"loop end {cue.end_s!r} s is not after its start"
    if any(ord(ch) < 32 and ch not in "\t" for ch in cue.name) or "\ufffe" in cue.name:
        return f"name {cue.name!r} has characters XML cannot hold"
    return ""


# ---------------------------------------------------------------------------------------------
# planning


def _entries_by_id(doc: NmlDocument) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for entry in doc.entries:
        loc = next((c for c in entry.children if c.tag == "LOCATION"), None)
        if loc is not None and loc.attrs.get("FILE"):
            key = loc.attrs.get("VOLUME", "") + loc.attrs.get("DIR", "") + loc.attrs.get("FILE", "")
            out.setdefault(ID_PREFIX + key, []).append(entry)
    return out


def _separator(doc: NmlDocument, entry: Span) -> str:
    kids = entry.children
    if len(kids) >= 2:
        gap = doc.data[kids[-2].end:kids[-1].start]
        if not gap.strip():
            return gap.decode("ascii")
    return doc.child_sep if doc.child_sep is not None else "\n"


def _cut(doc: NmlDocument, entry: Span, i: int) -> tuple[int, int]:
    """The byte range that removes child ``i`` together with the whitespace before it."""
    span = entry.children[i]
    prev_end = entry.children[i - 1].end if i > 0 else entry.tag_end
    return (prev_end if not doc.data[prev_end:span.start].strip() else span.start), span.end


def _plan_entry(doc: NmlDocument, entry: Span, track_id: str, add: Sequence[Cue], remove: Sequence[NmlCue | Cue],
                edits: list[tuple[int, int, bytes]], self_closing: bool
                ) -> tuple[list[NmlCue], list[NmlCue], list[str]]:
    removed: list[NmlCue] = []
    missing: list[str] = []
    taken: set[int] = set()
    cut: set[int] = set()
    for r in remove:
        want = dict(r.attrs) if isinstance(r, NmlCue) else dict(cue_attrs(r))
        hit = next((i for i, c in enumerate(entry.children) if i not in cut and matches(c, want)), None)
        if hit is None:
            missing.append(f"{want.get('NAME')} at {float(want.get('START', 0)) / 1000:.3f} s")
            continue
        cut.add(hit)
        a, b = _cut(doc, entry, hit)
        span = entry.children[hit]
        removed.append(NmlCue(track_id, tuple(span.attrs.items()), doc.data[span.start:span.end].decode("utf-8")))
        edits.append((a, b, b""))
    for i, c in enumerate(entry.children):
        if c.tag == "CUE_V2" and i not in cut:
            try:
                slot = int(c.attrs.get("HOTCUE", "-1"))
            except ValueError:
                continue
            if slot >= 0:
                taken.add(slot)
    added: list[NmlCue] = []
    for cue in add:
        if cue.kind == "hot" and cue.slot in taken:
            raise ValueError(f"hot cue slot {cue.slot} is already used in the collection")
        if cue.kind == "hot":
            taken.add(int(cue.slot or 0))
        attrs = cue_attrs(cue)
        added.append(NmlCue(track_id, attrs, cue_text(attrs, self_closing)))
    if added:
        sep = _separator(doc, entry)
        text = "".join(sep + c.text for c in added).encode("utf-8")
        if entry.empty:  # <ENTRY .../>: give it a body
            edits.append((entry.tag_end - 2, entry.tag_end, b">" + text + sep.encode() + b"</ENTRY>"))
        else:
            cues = [c for c in entry.children if c.tag == "CUE_V2"]
            anchor = (cues or entry.children)[-1].end if entry.children else entry.tag_end
            edits.append((anchor, anchor, text))
    return added, removed, missing


def plan_nml(src: Path, add: Mapping[str, Sequence[Cue]], remove: Mapping[str, Sequence[NmlCue | Cue]] | None = None,
             *, data: bytes | None = None) -> NmlPlan:
    """Plan the write (nothing is written). Tracks that cannot take their cues (unknown id, bad cue,
    slot taken) are listed in ``failed`` and left unchanged; the others are planned. Raises
    :class:`LibraryError` for an unreadable or malformed ``src``."""
    src = Path(src)
    doc = parse_nml(src, data)
    by_id = _entries_by_id(doc)
    self_closing = bool(doc.self_closing) if doc.self_closing is not None else False
    remove = remove or {}
    added: list[NmlCue] = []
    removed: list[NmlCue] = []
    failed: list[tuple[str, str]] = []
    not_found: list[tuple[str, str]] = []
    edits: list[tuple[int, int, bytes]] = []
    for track_id in list(dict.fromkeys([*add, *remove])):
        entries = by_id.get(track_id)
        if not entries:
            failed.append((track_id, "not in the collection (was it moved or removed in Traktor?)"))
            continue
        bad = next((f"cue at {c.start_s!r} s: {p}" for c in add.get(track_id, ()) if (p := _check(c))), "")
        if bad:
            failed.append((track_id, bad))
            continue
        mine: list[tuple[int, int, bytes]] = []
        try:
            results = [_plan_entry(doc, e, track_id, add.get(track_id, ()), remove.get(track_id, ()), mine,
                                   self_closing) for e in entries]
        except ValueError as exc:
            failed.append((track_id, str(exc)))
            continue
        edits += mine
        for a, r, m in results:
            added += a
            removed += r
            not_found += [(track_id, x) for x in m]
    new = _apply(doc.data, edits)
    return NmlPlan(src, tuple(added), tuple(removed), tuple(failed), tuple(not_found), new, doc.data)


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    chunks: list[bytes] = []
    pos = 0
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1])):
        chunks += [data[pos:start], text]
        pos = max(pos, end)
    chunks.append(data[pos:])
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------
# writing


def backup_path(path: Path) -> Path:
    """A fresh ``<name>.djstruct-YYYYmmdd-HHMMSS.bak`` next to ``path``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.djstruct-{stamp}.bak")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.djstruct-{stamp}-{n}.bak")
    return candidate


def verify_plan(plan: NmlPlan, out: Path) -> None:
    """Parse the planned bytes back and compare them with the original; raise WritebackError."""
    try:
        doc = parse_nml(out, plan.data)
    except LibraryError as exc:
        raise WritebackError(out, f"the new NML does not parse back ({exc.reason}); nothing was written") from exc
    cmp = compare_nml(plan.original, plan.data, plan.added, plan.removed)
    if cmp.lost or cmp.unexpected or cmp.reordered:
        raise WritebackError(out, f"the new NML would lose {cmp.lost} and add {cmp.unexpected} unplanned "
                                  "element(s); nothing was written")
    tracks = {t.id: t for t in tracks_from_document(doc, include_streaming=True) if not isinstance(t, DjstructError)}
    offsets: dict[str, float] = {}  # the reader moved the cues to djstruct's timeline: back to Traktor's
    for cue in plan.added:
        track = tracks.get(cue.track_id)
        start = float(cue.attr("START")) / 1000.0
        if track is not None and cue.track_id not in offsets:
            offsets[cue.track_id] = offset_s(track.path, "traktor") if track.path.is_file() else 0.0
        if track is None or not any(abs(c.start_s + offsets[cue.track_id] - start) < 1e-6 for c in track.cues):
            raise WritebackError(out, f"{cue.track_id}: the cue at {start:.3f} s does not read back; "
                                      "nothing was written")


def write_nml(src: Path, add: Mapping[str, Sequence[Cue]], remove: Mapping[str, Sequence[NmlCue | Cue]] | None = None,
              *, out: Path | None = None, backup: bool = True, check_running: bool = True,
              on_ready: Callable[[NmlWriteRecord], None] | None = None) -> NmlWriteRecord:
    """Add (and remove djstruct's own) cues; write ``out`` (default: ``src`` in place).

    In place, a backup is always made first (``backup`` only matters for a separate ``out`` that
    already exists). Raises :class:`WritebackError` (one line) while Traktor runs, when nothing
    could be verified, or when the file changed while it was being written; per-track problems
    are in the record's ``failed`` and those tracks are left as they were. ``on_ready`` gets the
    complete record after the checks and the backup, just before ``out`` changes (the writeback
    journals it there); nothing is written when it raises.
    """
    src = Path(src)
    out = Path(out) if out is not None else src
    in_place = out.resolve() == src.resolve()
    if check_running:
        refuse_if_running(out)
    plan = plan_nml(src, add, remove)
    verify_plan(plan, out)
    before = file_sha256(out) if out.exists() else None
    saved: Path | None = None
    if out.exists() and (in_place or backup):
        saved = backup_path(out)
        atomic_write_bytes(saved, out.read_bytes())
    if in_place and file_sha256(src) != _sha(plan.original):
        raise WritebackError(src, "the collection changed while it was being written; nothing was written")
    record = NmlWriteRecord(str(src), str(out), None if saved is None else str(saved), plan.added, plan.removed,
                            plan.failed, before, _sha(plan.data), time.time())
    if on_ready is not None:
        on_ready(record)
    atomic_write_bytes(out, plan.data)
    logger.info("%s: %d cues added, %d removed, %d tracks refused", out, len(plan.added), len(plan.removed),
                len(plan.failed))
    return record


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
