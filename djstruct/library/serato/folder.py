"""A folder of audio files as a DJ library: one :class:`Track` per file, Serato data included.

Walks recursively in name order, follows symbolic links (unless told not to) without looping,
yields each real file once, and never stops on a bad folder or file: problems come out of the
iterator as :class:`LibraryError` items between the tracks. Files are only opened for reading.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from djstruct.audio import SUPPORTED_EXTENSIONS
from djstruct.errors import LibraryError
from djstruct.library.serato import crates as serato_crates
from djstruct.library.serato.read import SeratoTags, parse_serato_values, raw_serato_values
from djstruct.library.serato.tags import open_audio
from djstruct.timing import track_from_app
from djstruct.types import Track

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS: tuple[str, ...] = tuple(sorted(SUPPORTED_EXTENSIONS))  # what djstruct can decode

_TITLE_KEYS = ("TIT2", "title", "\xa9nam")
_ARTIST_KEYS = ("TPE1", "artist", "\xa9ART")
_BPM_KEYS = ("TBPM", "bpm", "tmpo")


def track_id(path: Path) -> str:
    """Stable id of a file: ``"f:"`` + 16 hex digits of the SHA-1 of its resolved path."""
    key = str(Path(path).resolve()).encode("utf-8", "surrogateescape")
    return "f:" + hashlib.sha1(key).hexdigest()[:16]


def _tag_text(tags: Any, keys: tuple[str, ...]) -> str:
    for key in keys:
        try:
            value = tags.get(key) if tags is not None else None
        except (KeyError, ValueError, TypeError):
            value = None
        if value is None:
            continue
        first = getattr(value, "text", value)  # ID3 frames carry .text
        if isinstance(first, list | tuple):
            first = first[0] if first else ""
        text = str(first).strip()
        if text:
            return text
    return ""


def _tag_bpm(tags: Any) -> float | None:
    try:
        bpm = float(_tag_text(tags, _BPM_KEYS).replace(",", "."))
    except ValueError:
        return None
    return bpm if bpm > 0 else None


def _read_track(path: Path, extras: dict[str, Any]) -> Iterator[Track | LibraryError]:
    """Yield one Track for ``path``; a tag problem is yielded first as a LibraryError/TagError and
    the Track then comes without Serato data (``extras["tag_error"]`` holds the reason)."""
    extras = dict(extras)
    audio: Any = None
    tags = SeratoTags()
    try:
        audio = open_audio(path)
        if audio is not None:
            container, raw = raw_serato_values(audio, path)
            tags = parse_serato_values(path, container, raw)
    except LibraryError as exc:
        extras["tag_error"] = exc.reason
        yield exc
    id3_or_tags = audio if audio is not None and not hasattr(audio, "info") else getattr(audio, "tags", None)
    info = getattr(audio, "info", None)
    length = getattr(info, "length", None)
    duration = float(length) if isinstance(length, int | float) and length > 0 else None
    bpm = tags.grid.markers[-1].bpm if tags.grid is not None else _tag_bpm(id3_or_tags)
    if tags.raw:
        extras["serato"] = {"color": tags.color, "bpm_locked": tags.bpm_locked, "container": tags.container}
    yield track_from_app(Track(
        id=track_id(path),
        path=path,
        source="folder",
        duration_s=duration,
        bpm=bpm,
        grid=tags.grid,
        cues=tags.cues,
        title=_tag_text(id3_or_tags, _TITLE_KEYS),
        artist=_tag_text(id3_or_tags, _ARTIST_KEYS),
        extras=extras,
    ), "serato")


def _walk(root: Path, follow_symlinks: bool) -> Iterator[Path | LibraryError]:
    """Audio files under ``root`` (depth first, by name), skipping hidden entries (``.*``, which
    includes macOS ``._`` resource forks); each real directory is entered once."""
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            key = (st.st_dev, st.st_ino)
            if key in visited:
                logger.debug("already visited %s (symlink loop or duplicate)", folder)
                continue
            visited.add(key)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield LibraryError(folder, f"cannot read folder: {exc.strerror or exc}")
            continue
        subdirs: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink() and not follow_symlinks:
                    continue
                if entry.is_dir():
                    subdirs.append(Path(entry.path))
                elif entry.is_file() and entry.name.lower().endswith(AUDIO_EXTENSIONS):
                    yield Path(entry.path)
            except OSError as exc:
                yield LibraryError(entry.path, f"cannot inspect: {exc.strerror or exc}")
        stack.extend(reversed(subdirs))


def _crate_paths(root: Path, crate: str) -> Iterator[Path | LibraryError]:
    sdir = serato_crates.find_serato_dir(root)
    if sdir is None:
        yield LibraryError(root, f"no {serato_crates.SERATO_DIR} folder here or above, so no crate {crate!r}")
        return
    try:
        paths = serato_crates.crate_tracks(sdir, crate)
    except LibraryError as exc:
        yield exc
        return
    for path in paths:
        if path.is_file():
            yield path
        else:
            yield LibraryError(path, f"listed in Serato crate {crate!r} but not found")


def read_folder(
    root: Path, *, crate: str | None = None, follow_symlinks: bool = True
) -> Iterator[Track | LibraryError]:
    """Tracks of a music folder (source ``"folder"``), with cues, grid and bpm from Serato tags.

    Without ``crate``: every audio file below ``root`` (extensions :data:`AUDIO_EXTENSIONS`).
    With ``crate``: the tracks of that Serato crate, in crate order, from the ``_Serato_`` folder
    in ``root`` or its nearest parent (``root`` only locates the library; crate tracks elsewhere on
    the volume are included). Unreadable folders, missing crate tracks, unknown crates (the error
    lists the crates) and bad tags are yielded as :class:`LibraryError` and the walk goes on; a
    file with a bad tag still yields its Track, after the error. A file reached through several
    symlinks is yielded once; ``track.path`` is the resolved path.
    """
    root = Path(root)
    if not root.is_dir():
        yield LibraryError(root, "not a folder")
        return
    source = _crate_paths(root, crate) if crate is not None else _walk(root, follow_symlinks)
    extras: dict[str, Any] = {"crate": crate} if crate is not None else {}
    seen: set[Path] = set()
    for item in source:
        if isinstance(item, LibraryError):
            yield item
            continue
        try:
            real = item.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            yield LibraryError(item, f"cannot resolve path: {exc}")
            continue
        if real in seen:
            continue
        seen.add(real)
        yield from _read_track(real, extras)
