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

import base64
import hashlib
import logging
import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from djstruct.audio.fingerprint import audio_hash, audio_payload_range
from djstruct.errors import DjstructError, LibraryError, TagError, WritebackError
from djstruct.library import serato_markers as sm
from djstruct.library.serato import (
    FLAC_KEYS,
    MARKERS2,
    MARKERS_,
    MP4_KEYS,
    OGG_KEYS,
    SeratoTags,
    open_audio,
    parse_serato_values,
    raw_serato_values,
    read_serato_tags,
)
from djstruct.safe_write import atomic_rewrite, check_writable
from djstruct.types import Cue

logger = logging.getLogger(__name__)

# Serato DJ Pro's colours for hot cues 1-8 when the DJ picks none (as stored in the tag).
DEFAULT_COLORS: tuple[str, ...] = (
    "#cc0000", "#cc8800", "#0000cc", "#cccc00", "#00cc00", "#cc00cc", "#00cccc", "#8800cc",
)
TAG_NAMES: dict[str, tuple[str, ...]] = {
    "id3": (MARKERS2, MARKERS_),
    "flac": (MARKERS2,),
    "mp4": (MARKERS2, MARKERS_),
    "ogg": (MARKERS2, MARKERS_),
}
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_OGG_PLACEHOLDER = (0, "#000000", "")  # Serato's empty CUE slots in Ogg files: 0 ms, black, no name
_PARSE_ERRORS = (TagError, ValueError, struct.error, IndexError)


@dataclass(frozen=True)
class SeratoBackup:
    """The stored values of the Serato tags a write may touch, taken before writing.

    ``tags`` maps a Serato tag name (``"Serato Markers2"``, ``"Serato Markers_"``) to the value as
    stored in the container (ID3 GEOB body, FLAC/Ogg comment text or MP4 atom bytes), ``None``
    when absent. ``file_size`` (bytes) and ``had_tags`` (an ID3 tag/chunk existed) let
    :func:`restore` give back the same file layout, not only the same values.
    """

    path: Path
    container: str
    tags: dict[str, bytes | None]
    file_size: int | None = None
    had_tags: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "container": self.container,
            "tags": {k: None if v is None else base64.b64encode(v).decode("ascii") for k, v in self.tags.items()},
            "file_size": self.file_size,
            "had_tags": self.had_tags,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeratoBackup:
        tags = {str(k): None if v is None else base64.b64decode(v) for k, v in d["tags"].items()}
        size = d.get("file_size")
        return cls(Path(d["path"]), str(d["container"]), tags, None if size is None else int(size),
                   bool(d.get("had_tags", True)))


@dataclass(frozen=True)
class _Format:
    kind: str  # "mp3" (bare ID3 tag), "iff" (AIFF/WAV ID3 chunk), "flac", "mp4", "ogg"
    container: str  # "id3", "flac", "mp4", "ogg", as in SeratoTags.container
    cls: type


@dataclass(frozen=True)
class _Plan:
    values: dict[str, bytes]  # new stored values
    cues: tuple[sm.SeratoCue, ...]  # the hot cues asked for, by slot
    foreign: tuple[sm.M2Entry, ...]  # Markers2 entries other than CUE, before writing
    legacy_slots: int  # cue slots of Markers_ (0 when it is not updated)


# --- public API --------------------------------------------------------------------------------


def audio_payload_sha256(path: Path) -> str:
    """sha256 (hex) of the bytes in :func:`~djstruct.audio.fingerprint.audio_payload_range` (audio only)."""
    start, end = audio_payload_range(Path(path))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def read_backup(path: Path) -> SeratoBackup:
    """What the file holds now, as a :class:`SeratoBackup`."""
    path = Path(path)
    return _backup(path, _format(path))


def serato_cues(path: Path, hot_cues: Sequence[Cue]) -> list[sm.SeratoCue]:
    """Validate ``hot_cues`` and convert them to Serato cues (ms rounded to nearest, slot colours)."""
    out: dict[int, sm.SeratoCue] = {}
    for c in hot_cues:
        if c.kind != "hot" or c.is_loop:
            raise WritebackError(path, f"only hot cues can be written to Serato, got a {c.kind} cue at {c.start} s")
        if c.slot is None or not 0 <= c.slot <= 7 or c.slot in out:
            raise WritebackError(path, f"hot cue slot must be 0-7 and used once, got {c.slot}")
        if not math.isfinite(c.start) or c.start < 0 or c.start * 1000.0 >= 2**32 - 1:
            raise WritebackError(path, f"hot cue position out of range: {c.start} s")
        color = DEFAULT_COLORS[c.slot] if c.color is None else c.color
        if not _COLOR.fullmatch(color):
            raise WritebackError(path, f"hot cue colour must be '#rrggbb', got {color!r}")
        if "\0" in c.name:
            raise WritebackError(path, "hot cue names cannot contain NUL characters")
        out[c.slot] = sm.SeratoCue(c.slot, math.floor(c.start * 1000.0 + 0.5), color.lower(), c.name)
    return [out[k] for k in sorted(out)]


def write_hot_cues(path: Path, hot_cues: Sequence[Cue]) -> SeratoBackup:
    """Make the file's Serato hot cues exactly ``hot_cues`` and return the backup taken before.

    Raises:
        WritebackError: bad cues, unsupported or read-only file, a malformed Serato payload (the
            file is not touched; the TagError is the cause), disk full, or a failed check (the
            backup is restored first).
    """
    path = Path(path)
    wanted = serato_cues(path, hot_cues)
    check_writable(path.resolve())
    fmt = _format(path)
    before = _read_checked(path, "not writing over a malformed Serato tag")
    backup = _backup(path, fmt)
    plan = _plan(path, fmt.container, backup.tags, wanted)
    nothing_there = not wanted and all(v is None for v in backup.tags.values())
    if nothing_there or all(backup.tags.get(name) == value for name, value in plan.values.items()):
        logger.info("%s: Serato hot cues already as requested; nothing written", path)
        return backup
    digest = _audio_digest(fmt, path)

    def mutate(tmp: Path) -> None:
        obj, tags = _open(fmt, tmp, create=True)
        for name, value in plan.values.items():
            _set(fmt.container, tags, name, value)
        _save(fmt, obj, tmp, _padding(0))
        _verify(path, _read_tags(fmt, path, tmp), plan, before)
        if _audio_digest(fmt, tmp) != digest:
            raise WritebackError(path, "writing the tags would change the audio data; nothing written")

    atomic_rewrite(path, mutate)
    try:
        _verify(path, _read_checked(path, "cannot read back the written tags"), plan, before)
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
    fmt = _format(path)
    if fmt.container != backup.container:
        raise WritebackError(path, f"backup holds {backup.container} tags but the file is {fmt.container}")
    now = _backup(path, fmt)
    drop_block = not backup.had_tags and now.had_tags and fmt.kind in ("mp3", "iff")
    if all(now.tags.get(n) == v for n, v in backup.tags.items()) and not drop_block:
        return
    size = path.stat().st_size
    shrink = size - backup.file_size if backup.file_size is not None and size > backup.file_size else 0
    digest = _audio_digest(fmt, path)

    def mutate(tmp: Path) -> None:
        obj, tags = _open(fmt, tmp, create=True)
        for name, value in backup.tags.items():
            _set(fmt.container, tags, name, value)
        if drop_block and not len(tags) and not getattr(tags, "unknown_frames", None):
            _delete_id3_block(fmt, tmp)
        else:
            _save(fmt, obj, tmp, _padding(shrink))
        got = _backup(tmp, fmt).tags
        bad = [n for n, v in backup.tags.items() if got.get(n) != v]
        if bad or _audio_digest(fmt, tmp) != digest:
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


def _decode_legacy(container: str, raw: bytes) -> tuple[sm.LegacyMarkers, sm.Envelope | None]:
    if container == "mp4":
        env = sm.decode_envelope(raw, MARKERS_)
        return sm.parse_markers_(env.payload, "mp4"), env
    return sm.parse_markers_(raw, "id3"), None


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
            data = sm.dump_markers_(sm.legacy_replace_cues(legacy, cues))
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
    got = [(c.slot, round(c.start * 1000.0), c.name, c.color) for c in tags.hot_cues]
    want = [(c.index, c.position_ms, c.name, c.color) for c in plan.cues]
    if got != want:
        problems.append(f"hot cues read back as {got}, expected {want}")
    try:
        m2 = _decode_m2(tags.container, tags.raw.get(MARKERS2))[0]
        if tuple(e for e in m2.entries if e.name != "CUE") != plan.foreign:
            problems.append("Markers2 entries other than hot cues changed")
        raw_legacy = tags.raw.get(MARKERS_)
        if plan.legacy_slots and raw_legacy is not None:
            legacy = sm.legacy_cues(_decode_legacy(tags.container, raw_legacy)[0])
            if [(c.index, c.position_ms, c.color) for c in legacy] != [
                (c.index, c.position_ms, c.color) for c in plan.cues if c.index < plan.legacy_slots
            ]:
                problems.append("'Serato Markers_' cues do not match")
    except _PARSE_ERRORS as exc:
        problems.append(f"written tags do not parse: {exc}")
    if problems:
        raise WritebackError(path, "check after writing failed: " + "; ".join(problems))


def _read_checked(path: Path, what: str) -> SeratoTags:
    try:
        return read_serato_tags(path)
    except TagError as exc:
        raise WritebackError(path, f"{what}: {exc.reason}") from exc
    except LibraryError as exc:
        raise WritebackError(path, exc.reason) from exc


def _audio_digest(fmt: _Format, path: Path) -> str:
    # Ogg pages get renumbered when a header page changes size; audio_hash hashes page bodies only.
    return audio_hash(path) if fmt.kind == "ogg" else audio_payload_sha256(path)


# --- mutagen access ----------------------------------------------------------------------------


def _format(path: Path) -> _Format:
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.ogg import OggFileType
    from mutagen.wave import WAVE

    try:
        audio = open_audio(path)
    except LibraryError as exc:
        raise WritebackError(path, exc.reason) from exc
    if isinstance(audio, MP3 | ID3):
        return _Format("mp3", "id3", ID3)
    for cls, kind, container in ((AIFF, "iff", "id3"), (WAVE, "iff", "id3"), (FLAC, "flac", "flac"),
                                 (MP4, "mp4", "mp4"), (OggFileType, "ogg", "ogg")):
        if isinstance(audio, cls):
            return _Format(kind, container, type(audio))
    raise WritebackError(path, "Serato tags can only be written to MP3, AIFF, WAV, FLAC, MP4/M4A and Ogg files")


def _open(fmt: _Format, path: Path, *, create: bool) -> tuple[Any, Any]:
    """``(object to save, tags)`` opened for editing; tags None (or new, with ``create``) when absent.
    ID3 is loaded as stored (no v2.3 -> v2.4 translation, no ID3v1 merge); v2.2 is upgraded to v2.3."""
    from mutagen.id3 import ID3, ID3NoHeaderError

    if fmt.kind == "mp3":
        try:
            tags = ID3(path, translate=False, load_v1=False)
            if tags.version < (2, 3, 0):
                logger.info("%s: ID3v2.2 cannot be written; the tag becomes ID3v2.3", path)
                tags = ID3(path, translate=True, v2_version=3, load_v1=False)
        except ID3NoHeaderError:
            tags = ID3() if create else None
        return tags, tags
    if fmt.kind == "iff":
        obj = fmt.cls(path, translate=False, load_v1=False)
        if obj.tags is not None and obj.tags.version < (2, 3, 0):
            obj = fmt.cls(path, translate=True, v2_version=3, load_v1=False)
    else:
        obj = fmt.cls(path)
    if obj.tags is None and create:
        obj.add_tags()
    return obj, obj.tags


def _backup(path: Path, fmt: _Format) -> SeratoBackup:
    try:
        _, tags = _open(fmt, path, create=False)
    except Exception as exc:  # mutagen raises many types on damaged tags
        raise WritebackError(path, f"cannot read tags: {exc or type(exc).__name__}") from exc
    values = {n: None if tags is None else _get(fmt.container, tags, n) for n in TAG_NAMES[fmt.container]}
    return SeratoBackup(path, fmt.container, values, path.stat().st_size, tags is not None)


def _read_tags(fmt: _Format, path: Path, tmp: Path) -> SeratoTags:
    from mutagen.id3 import ID3

    audio = ID3(tmp) if fmt.kind == "mp3" else fmt.cls(tmp)
    container, raw = raw_serato_values(audio)
    try:
        return parse_serato_values(path, container or fmt.container, raw)
    except TagError as exc:
        raise WritebackError(path, f"written tags do not parse: {exc.reason}") from exc


def _vc_key(container: str, name: str) -> str:
    return (FLAC_KEYS if container == "flac" else OGG_KEYS)[name]


def _get(container: str, tags: Any, name: str) -> bytes | None:
    if container == "id3":
        frame = tags.get("GEOB:" + name)
        return None if frame is None else bytes(frame.data)
    if container == "mp4":
        values = tags.get(MP4_KEYS[name])
        return bytes(values[0]) if values else None
    key = _vc_key(container, name).lower()
    return next((v.encode("utf-8", "surrogateescape") for k, v in tags if k.lower() == key), None)


def _set(container: str, tags: Any, name: str, value: bytes | None) -> None:
    """Set (or remove, for None) one stored value in place: frame/comment order is kept."""
    from mutagen.id3 import GEOB, Encoding
    from mutagen.mp4 import MP4FreeForm

    if container == "id3":
        frame = tags.get("GEOB:" + name)
        if value is None:
            tags.delall("GEOB:" + name)
        elif frame is not None:
            frame.data = value
        else:
            tags.add(GEOB(encoding=Encoding.LATIN1, mime="application/octet-stream", filename="", desc=name,
                          data=value))
    elif container == "mp4":
        key, old = MP4_KEYS[name], tags.get(MP4_KEYS[name])
        if value is None:
            tags.pop(key, None)
        elif old:
            tags[key] = [MP4FreeForm(value, dataformat=old[0].dataformat, version=old[0].version), *old[1:]]
        else:
            tags[key] = [MP4FreeForm(value)]
    else:  # Vorbis comment: a list of (key, value); keep the key's spelling and position
        key = _vc_key(container, name)
        where = [(i, k) for i, (k, _) in enumerate(tags) if k.lower() == key.lower()]
        text = None if value is None else value.decode("utf-8", "surrogateescape")
        if text is None:
            for i, _ in reversed(where):
                del tags[i : i + 1]  # VCommentDict takes slices; an int index means a key there
        elif where:
            i, spelled = where[0]
            tags[i : i + 1] = [(spelled, text)]
        else:
            tags.append((key, text))


def _padding(shrink: int) -> Callable[[Any], int]:
    """mutagen padding policy: keep the tag block's size when the data fits (the audio stays where it
    is); otherwise mutagen's default. Up to ``shrink`` bytes of padding are given back (restore)."""

    def pad(info: Any) -> int:
        if info.padding >= 0:
            return int(max(0, info.padding - shrink))
        return int(info.get_default_padding())

    return pad


def _save(fmt: _Format, obj: Any, path: Path, padding: Callable[[Any], int]) -> None:
    if fmt.kind == "mp3":
        from mutagen.id3 import ID3v1SaveOptions

        tail = _id3v1(path)
        obj.save(path, v1=ID3v1SaveOptions.UPDATE, v2_version=_v2_version(obj), padding=padding)
        if tail and _id3v1(path) != tail:  # mutagen regenerates ID3v1 from v2 frames: put it back
            with open(path, "r+b") as f:
                f.seek(-128, 2)
                f.write(tail)
    elif fmt.kind == "iff":
        obj.save(v2_version=_v2_version(obj.tags), padding=padding)
    else:
        obj.save(padding=padding)


def _v2_version(tags: Any) -> int:
    return 4 if tags.version >= (2, 4, 0) else 3


def _id3v1(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() < 128:
            return b""
        f.seek(-128, 2)
        tail = f.read(128)
    return tail if tail[:3] == b"TAG" else b""


def _delete_id3_block(fmt: _Format, path: Path) -> None:
    """Remove the (now empty) ID3 tag or chunk that a write created."""
    import mutagen.aiff
    import mutagen.id3
    import mutagen.wave

    if fmt.kind == "mp3":
        mutagen.id3.delete(path, delete_v1=False, delete_v2=True)
    else:
        (mutagen.aiff.delete if issubclass(fmt.cls, mutagen.aiff.AIFF) else mutagen.wave.delete)(path)
