"""DJ library readers. Every reader yields the same :class:`~djstruct.types.Track` records.

A :class:`LibrarySource` names one library (a folder, a Rekordbox XML export, a Rekordbox
``master.db`` or a Traktor ``collection.nml``); :func:`iter_tracks` reads it, yielding a
``LibraryError`` in place of an entry that cannot be read so the caller can report it and go on.

Streaming entries (SoundCloud, Beatport/Beatsource LINK, TIDAL ... : no local file) are left out
unless ``include_streaming`` (``djstruct library`` lists them); every reader then marks them with
``extras["streaming"]`` = the service, so they are never analysed or written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from djstruct.errors import ConfigError, LibraryError
from djstruct.library.rekordbox.db import default_db_path, read_db
from djstruct.library.rekordbox.xml import read_playlists, read_xml
from djstruct.library.serato.folder import read_folder
from djstruct.library.traktor.nml import read_nml
from djstruct.library.traktor.nml import read_playlists as nml_playlists
from djstruct.types import Track

log = logging.getLogger(__name__)

KINDS = ("folder", "rekordbox-xml", "rekordbox-db", "traktor-nml")


@dataclass(frozen=True)
class LibrarySource:
    """One library: ``kind`` in KINDS, ``path`` (None = the Rekordbox default location),
    ``crate`` an optional Serato crate (folders) or Rekordbox / Traktor playlist to select."""

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
    traktor_nml: Path | None = None,
) -> list[LibrarySource]:
    """Sources from the shared command-line shape ``[FOLDER...] [--rekordbox-xml FILE]
    [--rekordbox-db [PATH]] [--traktor-nml FILE]``; ``rekordbox_db=""`` means the default
    database location."""
    out: list[LibrarySource] = []
    for f in folders:
        p = Path(f).expanduser()
        if not p.is_dir():
            raise ConfigError(p, "not a folder (give a folder of audio files, --rekordbox-xml, --rekordbox-db "
                                 "or --traktor-nml)")
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
    if traktor_nml is not None:
        p = Path(traktor_nml).expanduser()
        if not p.is_file():
            raise ConfigError(p, "Traktor collection (collection.nml) not found")
        out.append(LibrarySource("traktor-nml", p.resolve(), crate))
    if not out:
        raise ConfigError(None, "no library given: name a folder, --rekordbox-xml FILE, --rekordbox-db [PATH] "
                                "or --traktor-nml FILE")
    return out


def is_streaming(track: Track) -> bool:
    """True for a streaming entry (no local file; never analysed or written)."""
    return "streaming" in track.extras


def iter_tracks(source: LibrarySource, *, include_streaming: bool = False) -> Iterator[Track | LibraryError]:
    """All tracks of ``source``; a LibraryError in place of each unreadable entry. A library that
    cannot be opened at all raises LibraryError. Streaming entries only with ``include_streaming``."""
    if source.kind == "folder":

        assert source.path is not None
        yield from read_folder(source.path, crate=source.crate)
    elif source.kind == "rekordbox-xml":

        assert source.path is not None
        tracks = read_xml(source.path, include_streaming=include_streaming)
        if source.crate:
            playlists = read_playlists(source.path)
            tracks = _select(tracks, source.path, source.crate, playlists, lambda t: t.id.split(":", 1)[-1])
        yield from tracks
    elif source.kind == "rekordbox-db":

        yield from read_db(source.path, include_streaming=include_streaming)
    elif source.kind == "traktor-nml":

        assert source.path is not None
        items = read_nml(source.path, include_streaming=include_streaming)
        if source.crate:
            items = _select(items, source.path, source.crate, _by_leaf(nml_playlists(source.path)), lambda t: t.id)
        yield from items
    else:  # pragma: no cover - guarded by sources_from_options
        raise ConfigError(None, f"unknown library kind {source.kind!r}")


def _by_leaf(playlists: dict[str, list[str]]) -> dict[str, list[str]]:
    """Traktor playlists by full path (``"Folder/Set"``) and, where unique, by their own name."""
    out = dict(playlists)
    leaves: dict[str, list[str]] = {}
    for name in playlists:
        leaves.setdefault(name.rsplit("/", 1)[-1], []).append(name)
    for leaf, names in leaves.items():
        if len(names) == 1 and leaf not in out:
            out[leaf] = playlists[names[0]]
    return out


def _select(items: Sequence[Track | LibraryError], path: Path, crate: str, playlists: dict[str, list[str]],
            alt_id: Callable[[Track], str]) -> list[Track | LibraryError]:
    if crate not in playlists:
        raise LibraryError(path, f"no playlist {crate!r}; playlists: {', '.join(playlists) or 'none'}")
    wanted = set(playlists[crate])
    return [t for t in items if isinstance(t, Track) and (t.id in wanted or alt_id(t) in wanted)]
