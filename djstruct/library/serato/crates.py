"""Serato crates (``_Serato_/Subcrates/*.crate``, ``SmartCrates/*.scrate``) and ``database V2``.

Both are one binary format: a sequence of fields ``<4-byte ASCII tag><u32 BE length><value>``,
where the tag's first letter gives the type: ``o``/``r`` nested fields, ``t``/``p`` UTF-16BE text
(``vrsn`` is text too), ``u`` u32, ``s`` u16, ``b`` one byte. Crates list ``otrk`` > ``ptrk``
paths, the database ``otrk`` > ``pfil`` paths. Sub-crates are named ``Parent%%Child.crate``;
:func:`list_crates` shows them as ``Parent/Child`` and both spellings are accepted.

Path rule: Serato stores a track path relative to the root of the volume that holds the
``_Serato_`` folder it belongs to. On an external drive ``_Serato_`` sits at the drive root, so
the path is relative to the folder containing ``_Serato_``; the main library (``~/Music/_Serato_``)
lives on the system volume, so its paths start at ``/`` (``Users/name/Music/...``). We try the
folder containing ``_Serato_`` and then each of its ancestors and take the first existing file; if
none exists we return the volume-root reading when the path repeats the folder's own location
(``Users/name/Music/...`` under ``/Users/name/Music``) and the drive-root reading otherwise.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from djstruct.errors import LibraryError

logger = logging.getLogger(__name__)

SERATO_DIR = "_Serato_"
DATABASE_FILE = "database V2"
FieldValue = tuple["Field", ...] | str | int | bytes


@dataclass(frozen=True)
class Field:
    """One field; ``value`` is nested fields, text, an int (``u``/``s``) or raw bytes."""

    tag: str
    value: FieldValue

    def get(self, tag: str) -> FieldValue | None:
        """Value of the first nested field named ``tag`` (None if absent or not nested)."""
        if isinstance(self.value, tuple):
            for f in self.value:
                if f.tag == tag:
                    return f.value
        return None


def _decode_value(tag: str, data: bytes) -> FieldValue:
    kind = "t" if tag == "vrsn" else tag[0]
    if kind in "or":
        try:
            return parse_fields(data)
        except LibraryError:
            return data
    if kind in "tp" and len(data) % 2 == 0:
        return data.decode("utf-16-be", "surrogatepass")
    if (kind, len(data)) in (("u", 4), ("s", 2)):
        return int.from_bytes(data, "big")
    return data


def _encode_value(tag: str, value: FieldValue) -> bytes:
    if isinstance(value, tuple):
        return dump_fields(value)
    if isinstance(value, str):
        return value.encode("utf-16-be", "surrogatepass")
    if isinstance(value, int):
        return value.to_bytes(2 if tag[0] == "s" else 4, "big")
    return value


def parse_fields(data: bytes) -> tuple[Field, ...]:
    """Parse the tagged binary format; raises :class:`LibraryError` (no path) if malformed."""
    out: list[Field] = []
    pos = 0
    while pos < len(data):
        if pos + 8 > len(data):
            raise LibraryError(None, f"truncated field header at byte {pos}")
        raw_tag, size = struct.unpack_from(">4sI", data, pos)
        if pos + 8 + size > len(data):
            raise LibraryError(None, f"field at byte {pos} claims {size} bytes past the end")
        try:
            tag = raw_tag.decode("ascii")
        except UnicodeDecodeError:
            raise LibraryError(None, f"field tag at byte {pos} is not ASCII") from None
        out.append(Field(tag, _decode_value(tag, data[pos + 8 : pos + 8 + size])))
        pos += 8 + size
    return tuple(out)


def dump_fields(fields: tuple[Field, ...] | list[Field]) -> bytes:
    """Serialise fields; byte-identical to the input of :func:`parse_fields`."""
    parts = []
    for f in fields:
        body = _encode_value(f.tag, f.value)
        parts.append(f.tag.encode("ascii") + struct.pack(">I", len(body)) + body)
    return b"".join(parts)


def _read(path: Path) -> tuple[Field, ...]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LibraryError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        return parse_fields(data)
    except LibraryError as exc:
        raise LibraryError(path, f"malformed Serato file: {exc.reason}") from None


def track_paths(fields: tuple[Field, ...], path_tag: str) -> list[str]:
    """The ``path_tag`` (``ptrk`` in crates, ``pfil`` in the database) of every ``otrk``."""
    out = []
    for f in fields:
        value = f.get(path_tag) if f.tag == "otrk" else None
        if isinstance(value, str) and value:
            out.append(value)
    return out


def database_entries(serato_dir: Path) -> list[dict[str, FieldValue]]:
    """One ``{tag: value}`` dict per ``otrk`` of ``database V2`` (``pfil``, ``tbpm``, ``tkey``...)."""
    sdir = serato_folder(serato_dir)
    fields = _read(sdir / DATABASE_FILE)
    return [{g.tag: g.value for g in f.value} for f in fields if f.tag == "otrk" and isinstance(f.value, tuple)]


def serato_folder(path: Path) -> Path:
    """``path`` itself if it is a ``_Serato_`` folder, else ``path/_Serato_`` when that exists."""
    path = Path(path)
    if path.name != SERATO_DIR and (path / SERATO_DIR).is_dir():
        return path / SERATO_DIR
    return path


def find_serato_dir(start: Path) -> Path | None:
    """The ``_Serato_`` folder in ``start`` or the nearest of its parents, if any."""
    start = Path(start).absolute()
    if start.name == SERATO_DIR and start.is_dir():
        return start
    for folder in (start, *start.parents):
        if (folder / SERATO_DIR).is_dir():
            return folder / SERATO_DIR
    return None


def resolve_track_path(serato_dir: Path, stored: str) -> Path:
    """Absolute path of a track path stored in a crate or database (see the module docstring)."""
    base = serato_folder(serato_dir).absolute().parent
    rel = PurePosixPath(stored.replace("\\", "/"))
    parts = [p for p in rel.parts if p not in ("/", "")]
    if not parts:
        raise LibraryError(serato_dir, f"empty track path {stored!r}")
    for folder in (base, *base.parents):
        candidate = folder.joinpath(*parts)
        if candidate.exists():
            return candidate
    own = list(base.parts[1:])
    if own and parts[: len(own)] == own:
        return Path(base.anchor).joinpath(*parts)
    return base.joinpath(*parts)


def _crate_files(sdir: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for sub, ext in (("Subcrates", ".crate"), ("SmartCrates", ".scrate")):
        folder = sdir / sub
        if not folder.is_dir():
            continue
        try:
            names = sorted(folder.iterdir(), key=lambda p: p.name.casefold())
        except OSError as exc:
            raise LibraryError(folder, f"cannot list crates: {exc.strerror or exc}") from None
        for p in names:
            if p.suffix == ext and p.is_file() and not p.name.startswith("."):
                found.setdefault(p.stem.replace("%%", "/"), p)
    return found


def list_crates(serato_dir: Path) -> list[str]:
    """Crate names (sub-crates as ``Parent/Child``), then smart crates not shadowed by a crate."""
    return list(_crate_files(serato_folder(serato_dir)))


def crate_tracks(serato_dir: Path, name: str) -> list[Path]:
    """Absolute paths of the tracks in crate ``name`` (``Parent/Child`` or ``Parent%%Child``), in
    crate order. Unknown crate: :class:`LibraryError` listing the available ones."""
    sdir = serato_folder(serato_dir)
    crates = _crate_files(sdir)
    path = crates.get(name.replace("%%", "/"))
    if path is None:
        available = ", ".join(repr(n) for n in crates) or "none"
        raise LibraryError(sdir, f"no crate named {name!r}; available crates: {available}")
    return [resolve_track_path(sdir, p) for p in track_paths(_read(path), "ptrk")]


def database_tracks(serato_dir: Path) -> list[Path]:
    """Absolute paths of every track in ``_Serato_/database V2``."""
    sdir = serato_folder(serato_dir)
    return [resolve_track_path(sdir, p) for p in track_paths(_read(sdir / DATABASE_FILE), "pfil")]
