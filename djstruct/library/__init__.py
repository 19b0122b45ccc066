"""DJ library readers. Every reader yields the same :class:`~djstruct.types.Track` records.

A :class:`LibrarySource` names one library (a folder, a Rekordbox XML export or a Rekordbox
``master.db``); :func:`iter_tracks` reads it, yielding a ``LibraryError`` in place of an entry
that cannot be read so the caller can report it and go on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from djstruct.errors import ConfigError, LibraryError
from djstruct.library.rekordbox.db import default_db_path, read_db
from djstruct.library.rekordbox.xml import read_playlists, read_xml
from djstruct.library.serato.folder import read_folder
from djstruct.types import Track

log = logging.getLogger(__name__)

KINDS = ("folder", "rekordbox-xml", "rekordbox-db")


@dataclass(frozen=True)
class LibrarySource:
    """One library: ``kind`` in KINDS, ``path`` (None = the Rekordbox default location),
    ``crate`` an optional Serato crate (folders) or Rekordbox playlist (XML) to select."""

    kind: str
    path: Path | None
    crate: str | None = None

    @property
    def key(self) -> str:
        """Stable name of the library in the store, e.g. ``folder:/music``."""
        return f"{self.kind}:{self.path}"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.path}" + (f" [{self.crate}]" if self.crate else "")


def sources_from_options(
    folders: Sequence[Path] = (),
    rekordbox_xml: Path | None = None,
    rekordbox_db: Path | str | None = None,
    crate: str | None = None,
) -> list[LibrarySource]:
    """Sources from the shared command-line shape ``[FOLDER...] [--rekordbox-xml FILE]
    [--rekordbox-db [PATH]]``; ``rekordbox_db=""`` means the default database location."""
    out: list[LibrarySource] = []
    for f in folders:
        p = Path(f).expanduser()
        if not p.is_dir():
            raise ConfigError(p, "not a folder (give a folder of audio files, --rekordbox-xml or --rekordbox-db)")
        out.append(LibrarySource("folder", p.resolve(), crate))
    if rekordbox_xml is not None:
        p = Path(rekordbox_xml).expanduser()
        if not p.is_file():
            raise ConfigError(p, "Rekordbox XML export not found")
        out.append(LibrarySource("rekordbox-xml", p.resolve(), crate))
    if rekordbox_db is not None:
        if str(rekordbox_db) == "":

            db = default_db_path()
        else:
            db = Path(rekordbox_db).expanduser()
        if not db.is_file():
            raise ConfigError(db, "Rekordbox database (master.db) not found")
        out.append(LibrarySource("rekordbox-db", db.resolve(), crate))
    if not out:
        raise ConfigError(None, "no library given: name a folder, --rekordbox-xml FILE or --rekordbox-db [PATH]")
    return out


def iter_tracks(source: LibrarySource) -> Iterator[Track | LibraryError]:
    """All tracks of ``source``; a LibraryError in place of each unreadable entry. A library that
    cannot be opened at all raises LibraryError."""
    if source.kind == "folder":

        assert source.path is not None
        yield from read_folder(source.path, crate=source.crate)
    elif source.kind == "rekordbox-xml":

        assert source.path is not None
        tracks = read_xml(source.path)
        if source.crate:
            playlists = read_playlists(source.path)
            if source.crate not in playlists:
                raise LibraryError(source.path, f"no playlist {source.crate!r}; playlists: {', '.join(playlists)}")
            wanted = set(playlists[source.crate])
            tracks = [t for t in tracks if t.id in wanted or t.id.split(":", 1)[-1] in wanted]
        yield from tracks
    elif source.kind == "rekordbox-db":

        yield from read_db(source.path)
    else:  # pragma: no cover - guarded by sources_from_options
        raise ConfigError(None, f"unknown library kind {source.kind!r}")
