"""Where Serato keeps its data in each container, read and written through mutagen.

Containers: ID3 GEOB frames (body = payload) in MP3 and in the ID3 chunk of AIFF/WAV; Vorbis
comments in FLAC (``SERATO_*``, base64 envelope) and Ogg (``serato_*``, Ogg text forms); MP4
freeform atoms ``----:com.serato.dj:*``. :func:`open_tags` opens a file's tag container once
(ID3 as stored: no v2.3 -> v2.4 translation, no ID3v1 merge); :func:`stored_values` and
:func:`backup_of` read from that one parse; :func:`set_value` and :func:`save` write.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct.errors import LibraryError

logger = logging.getLogger(__name__)

MARKERS2, MARKERS_, BEATGRID = "Serato Markers2", "Serato Markers_", "Serato BeatGrid"

FLAC_KEYS: dict[str, str] = {
    "Serato Analysis": "SERATO_ANALYSIS",
    "Serato Autotags": "SERATO_AUTOGAIN",
    BEATGRID: "SERATO_BEATGRID",
    MARKERS2: "SERATO_MARKERS_V2",
    "Serato Overview": "SERATO_OVERVIEW",
    "Serato RelVolAd": "SERATO_RELVOL",
    "Serato VidAssoc": "SERATO_VIDEO_ASSOC",
}
MP4_KEYS: dict[str, str] = {
    "Serato Analysis": "----:com.serato.dj:analysisVersion",
    "Serato Autotags": "----:com.serato.dj:autgain",
    BEATGRID: "----:com.serato.dj:beatgrid",
    MARKERS_: "----:com.serato.dj:markers",
    MARKERS2: "----:com.serato.dj:markersv2",
    "Serato Overview": "----:com.serato.dj:overview",
    "Serato RelVolAd": "----:com.serato.dj:relvol",
    "Serato VidAssoc": "----:com.serato.dj:videoassociation",
}
OGG_KEYS: dict[str, str] = {
    "Serato Analysis": "serato_analysis_ver",
    "Serato Overview": "serato_overview",
    BEATGRID: "serato_beatgrid",
    MARKERS_: "serato_markers",
    MARKERS2: "serato_markers2",
}
# the tags a cue write may touch, per container (and so what a backup holds)
WRITABLE: dict[str, tuple[str, ...]] = {
    "id3": (MARKERS2, MARKERS_),
    "flac": (MARKERS2,),
    "mp4": (MARKERS2, MARKERS_),
    "ogg": (MARKERS2, MARKERS_),
}


@dataclass(frozen=True)
class Format:
    kind: str  # "mp3" (bare ID3 tag), "iff" (AIFF/WAV ID3 chunk), "flac", "mp4", "ogg"
    container: str  # "id3", "flac", "mp4", "ogg"
    cls: type


@dataclass
class TagFile:
    """A file's tag container, opened once: ``obj`` is what mutagen saves, ``tags`` the tag
    mapping (None when the file has none), ``stat`` the file's state when it was read."""

    path: Path
    fmt: Format
    obj: Any
    tags: Any
    stat: os.stat_result


@dataclass(frozen=True)
class SeratoBackup:
    """The stored values of the Serato tags a write may touch, taken before writing.

    ``tags`` maps a Serato tag name to the value as stored in the container (ID3 GEOB body,
    FLAC/Ogg comment text or MP4 atom bytes), ``None`` when absent. ``file_size`` (bytes) and
    ``had_tags`` (an ID3 tag/chunk existed) let a restore give back the same file layout too.
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


def open_audio(path: Path) -> Any:
    """The mutagen object for ``path`` (opened read-only, with stream info), or None when mutagen
    does not know the format. Raises :class:`LibraryError` when the file cannot be read. An MP3
    whose audio frames mutagen rejects still has its ID3 tag read."""
    import mutagen
    from mutagen.id3 import ID3

    try:
        return mutagen.File(path)
    except Exception as exc:  # mutagen raises many types on corrupt files; none may escape
        if path.suffix.lower() == ".mp3":
            try:
                return ID3(path)
            except Exception:
                pass
        raise LibraryError(path, f"cannot read tags: {_reason(exc)}") from None


def format_of(audio: Any, path: Path) -> Format | None:
    """The container format of a mutagen object (None: Serato stores nothing in it)."""
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.ogg import OggFileType
    from mutagen.wave import WAVE

    if isinstance(audio, MP3 | ID3):
        return Format("mp3", "id3", ID3)
    for cls, kind, container in ((AIFF, "iff", "id3"), (WAVE, "iff", "id3"), (FLAC, "flac", "flac"),
                                 (MP4, "mp4", "mp4"), (OggFileType, "ogg", "ogg")):
        if isinstance(audio, cls):
            return Format(kind, container, type(audio))
    return None


def open_tags(path: Path, fmt: Format | None = None, *, create: bool = False) -> TagFile:
    """Open ``path``'s tag container for reading and editing (``create``: add an empty tag block
    when there is none). ID3v2.2 is upgraded to v2.3 (it cannot be written). Raises LibraryError."""
    from mutagen.id3 import ID3, ID3NoHeaderError

    path = Path(path)
    try:
        st = os.stat(path)
        if fmt is None:
            fmt = format_of(open_audio(path), path)
            if fmt is None:
                raise LibraryError(path, "Serato tags live only in MP3, AIFF, WAV, FLAC, MP4/M4A and Ogg files")
        if fmt.kind == "mp3":
            try:
                tags = ID3(path, translate=False, load_v1=False)
                if tags.version < (2, 3, 0):
                    logger.info("%s: ID3v2.2 cannot be written; the tag becomes ID3v2.3", path)
                    tags = ID3(path, translate=True, v2_version=3, load_v1=False)
            except ID3NoHeaderError:
                tags = ID3() if create else None
            return TagFile(path, fmt, tags, tags, st)
        if fmt.kind == "iff":
            obj = fmt.cls(path, translate=False, load_v1=False)
            if obj.tags is not None and obj.tags.version < (2, 3, 0):
                obj = fmt.cls(path, translate=True, v2_version=3, load_v1=False)
        else:
            obj = fmt.cls(path)
    except LibraryError:
        raise
    except Exception as exc:  # mutagen raises many types on damaged tags
        raise LibraryError(path, f"cannot read tags: {_reason(exc)}") from exc
    if obj.tags is None and create:
        obj.add_tags()
    return TagFile(path, fmt, obj, obj.tags, st)


def stored_values(tf: TagFile) -> dict[str, bytes]:
    """``{Serato tag name: value as stored}`` of every Serato tag in the file."""
    if tf.tags is None:
        return {}
    if tf.fmt.container == "id3":
        return {f.desc: bytes(f.data) for f in tf.tags.getall("GEOB") if f.desc.startswith("Serato ")}
    keys = MP4_KEYS if tf.fmt.container == "mp4" else (FLAC_KEYS if tf.fmt.container == "flac" else OGG_KEYS)
    found = {name: get_value(tf, name) for name in keys}
    return {name: v for name, v in found.items() if v is not None}


def backup_of(tf: TagFile) -> SeratoBackup:
    """The values a cue write may touch, as :class:`SeratoBackup`."""
    values = {n: None if tf.tags is None else get_value(tf, n) for n in WRITABLE[tf.fmt.container]}
    return SeratoBackup(tf.path, tf.fmt.container, values, tf.stat.st_size, tf.tags is not None)


def _vc_key(container: str, name: str) -> str:
    return (FLAC_KEYS if container == "flac" else OGG_KEYS)[name]


def get_value(tf: TagFile, name: str) -> bytes | None:
    container, tags = tf.fmt.container, tf.tags
    if container == "id3":
        frame = tags.get("GEOB:" + name)
        return None if frame is None else bytes(frame.data)
    if container == "mp4":
        values = tags.get(MP4_KEYS[name])
        return bytes(values[0]) if values else None
    key = _vc_key(container, name).lower()
    return next((v.encode("utf-8", "surrogateescape") for k, v in tags if k.lower() == key), None)


def set_value(tf: TagFile, name: str, value: bytes | None) -> None:
    """Set (or remove, for None) one stored value in place: frame/comment order is kept."""
    from mutagen.id3 import GEOB, Encoding
    from mutagen.mp4 import MP4FreeForm

    container, tags = tf.fmt.container, tf.tags
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


def padding(shrink: int) -> Callable[[Any], int]:
    """mutagen padding policy: keep the tag block's size when the data fits (the audio stays where it
    is); otherwise mutagen's default. Up to ``shrink`` bytes of padding are given back (restore)."""

    def pad(info: Any) -> int:
        if info.padding >= 0:
            return int(max(0, info.padding - shrink))
        return int(info.get_default_padding())

    return pad


def save(tf: TagFile, path: Path, pad: Callable[[Any], int]) -> None:
    """Save the edited tags into ``path`` (the temporary copy of ``tf.path``), keeping the ID3
    version and an ID3v1 tail as they were."""
    if tf.fmt.kind == "mp3":
        from mutagen.id3 import ID3v1SaveOptions

        tail = _id3v1(path)
        tf.obj.save(path, v1=ID3v1SaveOptions.UPDATE, v2_version=_v2_version(tf.obj), padding=pad)
        if tail and _id3v1(path) != tail:  # mutagen regenerates ID3v1 from v2 frames: put it back
            with open(path, "r+b") as f:
                f.seek(-128, 2)
                f.write(tail)
    elif tf.fmt.kind == "iff":
        tf.obj.save(v2_version=_v2_version(tf.obj.tags), padding=pad)
    else:
        tf.obj.save(padding=pad)


def delete_id3_block(tf: TagFile, path: Path) -> None:
    """Remove the (now empty) ID3 tag or chunk that a write created."""
    import mutagen.aiff
    import mutagen.id3
    import mutagen.wave

    if tf.fmt.kind == "mp3":
        mutagen.id3.delete(path, delete_v1=False, delete_v2=True)
    else:
        (mutagen.aiff.delete if issubclass(tf.fmt.cls, mutagen.aiff.AIFF) else mutagen.wave.delete)(path)


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


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
