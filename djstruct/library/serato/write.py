"""Write Serato hot cues into audio files, keeping everything else Serato stored there.

The cues go into ``Serato Markers2`` (every other entry - loops, COLOR, BPMLOCK, FLIP, unknown -
keeps its bytes) and, where it exists, into the legacy ``Serato Markers_`` (Serato prefers it for
the first five cues, so the two are kept in step). Containers, each in its native form: ID3 GEOB
frames in MP3/AIFF/WAV (the tag keeps its ID3 version), a FLAC Vorbis comment
(``SERATO_MARKERS_V2``), an MP4 freeform atom (``----:com.serato.dj:markersv2``) and an Ogg
Vorbis comment (``serato_markers2``). The Ogg ``serato_markers`` text form is left as it is: its
slot layout is undocumented (only empty placeholders have been seen).

Every write: refuses malformed payloads, takes a :class:`SeratoBackup`, edits a temporary copy
(:func:`~djstruct.safe_write.atomic_rewrite`), checks the copy (cues, foreign entries, other
Serato tags, audio bytes) before swapping it in, and reads the file back afterwards; a mismatch
restores the backup. Tag space is reused (padding) so the audio does not move when it fits.
"""

from __future__ import annotations

import logging
import math
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from djstruct.audio.fingerprint import audio_hash, audio_payload_sha256
from djstruct.errors import DjstructError, LibraryError, TagError, WritebackError
from djstruct.library.serato import legacy as lg
from djstruct.library.serato import markers as sm
from djstruct.library.serato.read import SeratoTags, parse_serato_values
from djstruct.library.serato.tags import (
    MARKERS2,
    MARKERS_,
    Format,
    SeratoBackup,
    TagFile,
    backup_of,
    delete_id3_block,
    open_tags,
    padding,
    save,
    set_value,
    stored_values,
)
from djstruct.safe_write import atomic_rewrite, check_writable
from djstruct.types import Cue

logger = logging.getLogger(__name__)

# Serato DJ Pro's colours for hot cues 1-8 when the DJ picks none (as stored in the tag).
DEFAULT_COLORS: tuple[str, ...] = (
    "#cc0000", "#cc8800", "#0000cc", "#cccc00", "#00cc00", "#cc00cc", "#00cccc", "#8800cc",
)
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_OGG_PLACEHOLDER = (0, "#000000", "")  # Serato's empty CUE slots in Ogg files: 0 ms, black, no name
_PARSE_ERRORS = (TagError, ValueError, struct.error, IndexError)


@dataclass(frozen=True)
class _Plan:
    values: dict[str, bytes]  # new stored values
    cues: tuple[sm.SeratoCue, ...]  # the hot cues asked for, by slot
    foreign: tuple[sm.M2Entry, ...]  # Markers2 entries other than CUE, before writing
    legacy_slots: int  # cue slots of Markers_ (0 when it is not updated)


# --- public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeratoState:
    """One read of a file before writing: its Serato data (``tags``, for planning and for checking
    that nothing else moved) and the :class:`SeratoBackup` a write journals. Taken by
    :func:`read_state`; :func:`write_hot_cues` reuses it while the file is unchanged."""

    tags: SeratoTags
    backup: SeratoBackup
    file: TagFile

    def is_current(self) -> bool:
        """Whether the file is still as it was read (size, mtime and inode)."""
        return _unchanged(self.file)


def read_state(path: Path) -> SeratoState:
    """Open ``path``'s tags once: Serato data and backup. Raises WritebackError (unreadable, wrong
    format) or TagError (a malformed Serato payload: never written over)."""
    path = Path(path)
    try:
        tf = open_tags(path)
    except LibraryError as exc:
        raise WritebackError(path, exc.reason) from exc
    tags = parse_serato_values(path, tf.fmt.container if tf.tags is not None else "", stored_values(tf))
    return SeratoState(tags, backup_of(tf), tf)


def read_backup(path: Path) -> SeratoBackup:
    """What the file holds now, as a :class:`SeratoBackup`."""
    return backup_of(_open(Path(path)))


def serato_cues(path: Path, hot_cues: Sequence[Cue]) -> list[sm.SeratoCue]:
    """Validate ``hot_cues`` and convert them to Serato cues (ms rounded to nearest, slot colours)."""
    out: dict[int, sm.SeratoCue] = {}
    for c in hot_cues:
        if c.kind != "hot" or c.is_loop:
            raise WritebackError(path, f"only hot cues can be written to Serato, got a {c.kind} cue at {c.start_s} s")
        if c.slot is None or not 0 <= c.slot <= 7 or c.slot in out:
            raise WritebackError(path, f"hot cue slot must be 0-7 and used once, got {c.slot}")
        if not math.isfinite(c.start_s) or c.start_s < 0 or c.start_s * 1000.0 >= 2**32 - 1:
            raise WritebackError(path, f"hot cue position out of range: {c.start_s} s")
        color = DEFAULT_COLORS[c.slot] if c.color is None else c.color
        if not _COLOR.fullmatch(color):
            raise WritebackError(path, f"hot cue colour must be '#rrggbb', got {color!r}")
        if "\0" in c.name:
            raise WritebackError(path, "hot cue names cannot contain NUL characters")
        out[c.slot] = sm.SeratoCue(c.slot, math.floor(c.start_s * 1000.0 + 0.5), color.lower(), c.name)
    return [out[k] for k in sorted(out)]


def write_hot_cues(path: Path, hot_cues: Sequence[Cue], state: SeratoState | None = None) -> SeratoBackup:
    """Make the file's Serato hot cues exactly ``hot_cues`` (Serato's timeline, seconds) and return
    the backup taken before. ``state`` (from :func:`read_state`) saves a second read when the file
    has not changed since.

    Raises:
        WritebackError: bad cues, unsupported or read-only file, a malformed Serato payload (the
            file is not touched; the TagError is the cause), disk full, or a failed check (the
            backup is restored first).
    """
    path = Path(path)
    wanted = serato_cues(path, hot_cues)
    check_writable(path.resolve())
    if state is None or not state.is_current():
        try:
            state = read_state(path)
        except TagError as exc:
            raise WritebackError(path, f"not writing over a malformed Serato tag: {exc.reason}") from exc
    fmt, before, backup = state.file.fmt, state.tags, state.backup
    plan = _plan(path, fmt.container, backup.tags, wanted)
    nothing_there = not wanted and all(v is None for v in backup.tags.values())
    if nothing_there or all(backup.tags.get(name) == value for name, value in plan.values.items()):
        logger.info("%s: Serato hot cues already as requested; nothing written", path)
        return backup
    digest = _audio_digest(fmt.kind, path)

    def mutate(tmp: Path) -> None:
        tf = open_tags(tmp, fmt, create=True)
        for name, value in plan.values.items():
            set_value(tf, name, value)
        save(tf, tmp, padding(0))
        _verify(path, _read_back(tmp, path, fmt), plan, before)
        if _audio_digest(fmt.kind, tmp) != digest:
            raise WritebackError(path, "writing the tags would change the audio data; nothing written")

    atomic_rewrite(path, mutate)
    try:
        _verify(path, _read_back(path, path, fmt), plan, before)
    except DjstructError as exc:
        try:
            restore(backup)
        except DjstructError as exc2:
            raise WritebackError(path, f"{exc.reason}; restoring the previous tags failed too: {exc2}") from exc
        raise WritebackError(path, f"{exc.reason}; previous tags restored") from exc
    logger.info("%s: wrote %d Serato hot cues (%s)", path, len(wanted), fmt.container)
    return backup


def restore(backup: SeratoBackup) -> None:
    """Put every tag of ``backup`` back exactly as it was (absent ones removed), atomically.

    Whatever the file holds now is overwritten: a caller undoing an old write should first check
    (:func:`read_backup`) that the file still holds what was written, i.e. Serato changed nothing."""
    path = Path(backup.path)
    tf = _open(path)
    fmt = tf.fmt
    if fmt.container != backup.container:
        raise WritebackError(path, f"backup holds {backup.container} tags but the file is {fmt.container}")
    now = backup_of(tf)
    drop_block = not backup.had_tags and now.had_tags and fmt.kind in ("mp3", "iff")
    if all(now.tags.get(n) == v for n, v in backup.tags.items()) and not drop_block:
        return
    size = path.stat().st_size
    shrink = size - backup.file_size if backup.file_size is not None and size > backup.file_size else 0
    digest = _audio_digest(fmt.kind, path)

    def mutate(tmp: Path) -> None:
        t = open_tags(tmp, fmt, create=True)
        for name, value in backup.tags.items():
            set_value(t, name, value)
        if drop_block and not len(t.tags) and not getattr(t.tags, "unknown_frames", None):
            delete_id3_block(t, tmp)
        else:
            save(t, tmp, padding(shrink))
        got = backup_of(_open(tmp, fmt)).tags
        bad = [n for n, v in backup.tags.items() if got.get(n) != v]
        if bad or _audio_digest(fmt.kind, tmp) != digest:
            raise WritebackError(path, f"restore check failed ({', '.join(bad) or 'audio data'}); file left unchanged")

    atomic_rewrite(path, mutate)
    logger.info("%s: restored Serato tags %s", path, ", ".join(backup.tags))


# --- planning and checking ---------------------------------------------------------------------


def _decode_m2(container: str, raw: bytes | None) -> tuple[sm.Markers2, sm.Envelope | None]:
    """Parsed Markers2 (a fresh one in the container's form when ``raw`` is None) and its envelope."""
    if container == "ogg":
        return (sm.Markers2((), header=b"") if raw is None else sm.parse_markers2_ogg(raw)), None
    if container == "id3":
        return (sm.Markers2(()) if raw is None else sm.parse_markers2(raw)), None
    if raw is None:  # Serato pads the enveloped payload to 514 bytes
        return sm.Markers2((), padding=b"\0" * 512, text_len=0), sm.Envelope(MARKERS2, b"")
    env = sm.decode_envelope(raw, MARKERS2)
    return sm.parse_markers2(env.payload), env


def _decode_legacy(container: str, raw: bytes) -> tuple[lg.LegacyMarkers, sm.Envelope | None]:
    if container == "mp4":
        env = sm.decode_envelope(raw, MARKERS_)
        return lg.parse_markers_(env.payload, "mp4"), env
    return lg.parse_markers_(raw, "id3"), None


def _plan(path: Path, container: str, old: dict[str, bytes | None], cues: list[sm.SeratoCue]) -> _Plan:
    try:
        m2, env = _decode_m2(container, old.get(MARKERS2))
        keep = list(cues)
        if container == "ogg":  # keep Serato's placeholders in the slots we leave empty
            used = {c.index for c in cues}
            keep += [c for c in sm.markers2_cues(m2) if c.index not in used and
                     (c.position_ms, c.color, c.name) == _OGG_PLACEHOLDER]
        payload = sm.dump_markers2(sm.replace_cues(m2, keep))
        values = {MARKERS2: payload if env is None else sm.encode_envelope(replace(env, payload=payload))}
        slots = 0
        raw_legacy = old.get(MARKERS_)
        if raw_legacy is not None and container in ("id3", "mp4"):
            legacy, env1 = _decode_legacy(container, raw_legacy)
            data = lg.dump_markers_(lg.legacy_replace_cues(legacy, cues))
            values[MARKERS_] = data if env1 is None else sm.encode_envelope(replace(env1, payload=data))
            slots = sum(1 for e in legacy.entries if e.kind in (0, 1))
        elif raw_legacy is not None:
            logger.debug("%s: Ogg 'serato_markers' left unchanged (undocumented slot format)", path)
    except _PARSE_ERRORS as exc:
        reason = exc.reason if isinstance(exc, TagError) else str(exc)
        raise WritebackError(path, f"not writing over a malformed Serato tag: {reason}") from exc
    return _Plan(values, tuple(cues), tuple(e for e in m2.entries if e.name != "CUE"), slots)


def _verify(path: Path, tags: SeratoTags, plan: _Plan, before: SeratoTags) -> None:
    """Raise WritebackError unless ``tags`` hold exactly the planned values and nothing else moved."""
    problems = [f"'{n}' does not read back as written" for n, v in plan.values.items() if tags.raw.get(n) != v]
    problems += [f"'{n}' changed" for n, v in before.raw.items() if n not in plan.values and tags.raw.get(n) != v]
    got = [(c.slot, round(c.start_s * 1000.0), c.name, c.color) for c in tags.hot_cues]
    want = [(c.index, c.position_ms, c.name, c.color) for c in plan.cues]
    if got != want:
        problems.append(f"hot cues read back as {got}, expected {want}")
    try:
        m2 = _decode_m2(tags.container, tags.raw.get(MARKERS2))[0]
        if tuple(e for e in m2.entries if e.name != "CUE") != plan.foreign:
            problems.append("Markers2 entries other than hot cues changed")
        raw_legacy = tags.raw.get(MARKERS_)
        if plan.legacy_slots and raw_legacy is not None:
            legacy = lg.legacy_cues(_decode_legacy(tags.container, raw_legacy)[0])
            if [(c.index, c.position_ms, c.color) for c in legacy] != [
                (c.index, c.position_ms, c.color) for c in plan.cues if c.index < plan.legacy_slots
            ]:
                problems.append("'Serato Markers_' cues do not match")
    except _PARSE_ERRORS as exc:
        problems.append(f"written tags do not parse: {exc}")
    if problems:
        raise WritebackError(path, "check after writing failed: " + "; ".join(problems))


def _open(path: Path, fmt: Format | None = None) -> TagFile:
    try:
        return open_tags(path, fmt)
    except LibraryError as exc:
        raise WritebackError(path, exc.reason) from exc


def _unchanged(tf: TagFile) -> bool:
    try:
        now = os.stat(tf.path)
    except OSError:
        return False
    then = tf.stat
    return (now.st_size, now.st_mtime_ns, now.st_ino) == (then.st_size, then.st_mtime_ns, then.st_ino)


def _read_back(tmp: Path, path: Path, fmt: Format) -> SeratoTags:
    """The Serato data of ``tmp`` (the file being written, or ``path`` itself after the swap)."""
    tf = _open(tmp, fmt)
    try:
        return parse_serato_values(path, tf.fmt.container, stored_values(tf))
    except TagError as exc:
        raise WritebackError(path, f"written tags do not parse: {exc.reason}") from exc


def _audio_digest(kind: str, path: Path) -> str:
    # Ogg pages get renumbered when a header page changes size; audio_hash hashes page bodies only.
    return audio_hash(path) if kind == "ogg" else audio_payload_sha256(path)
