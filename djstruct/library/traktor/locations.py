"""Traktor ``LOCATION`` elements <-> file paths, primary keys and streaming entries.

Traktor stores a track as ``<LOCATION VOLUME="Macintosh HD" DIR="/:Users/:dj/:Music/:" FILE="x.mp3"
VOLUMEID="..."/>``: the folders of ``DIR`` are separated by ``/:`` (so a ``/`` inside a folder name
survives), ``VOLUME`` is a drive letter on Windows (``C:``) or a volume name on macOS (the boot disk
too, e.g. ``Macintosh HD``, which macOS also mounts as ``/Volumes/Macintosh HD``). Playlists refer to
a track by ``VOLUME + DIR + FILE`` (``<PRIMARYKEY TYPE="TRACK" KEY="Macintosh HD/:Users/:dj/:x.mp3"/>``);
djstruct uses that key as the track id (``"nml:<key>"``).

Path rules (:func:`location_to_path`): a drive letter gives ``C:/Users/dj/x.mp3`` (the same
representation as :mod:`djstruct.library.locations` uses for rekordbox); a macOS volume gives
``/Volumes/<VOLUME>/...`` unless only ``/<DIR>/<FILE>`` exists (a boot disk seen without the
``/Volumes`` link); ``volume_roots`` overrides both (e.g. a copy of the collection on another machine).

Streaming entries (Beatport / Beatsource LINK, SoundCloud, TIDAL in Traktor 3.4+) have no local file.
No real collection with one was available here, so :func:`streaming_kind` is a heuristic: a
``VOLUME``/``VOLUMEID`` or ``FILE`` that starts with a service name followed by ``:`` (``beatport:``,
``soundcloud:tracks:1234``), or a volume named exactly like a service or ``streaming`` whose ``FILE``
has no audio extension. A local drive named "Beatport" that holds ``.mp3`` files stays local.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

SEP = "/:"
SERVICES = ("beatport", "beatsource", "soundcloud", "tidal", "spotify", "applemusic", "deezer", "streaming")
AUDIO_EXTENSIONS = frozenset({
    ".mp3", ".m4a", ".mp4", ".aac", ".flac", ".wav", ".aif", ".aiff", ".ogg", ".opus", ".wma", ".alac",
})
_DRIVE = re.compile(r"^[A-Za-z]:$")
_SERVICE_PREFIX = re.compile(r"^\s*(" + "|".join(SERVICES) + r")\s*(:|://)", re.IGNORECASE)
_SERVICE_NAME = re.compile(r"^\s*(" + "|".join(SERVICES) + r")\s*$", re.IGNORECASE)


def dir_parts(directory: str) -> list[str]:
    """``"/:Users/:dj/:Music/:"`` -> ``["Users", "dj", "Music"]``."""
    return [p for p in directory.split(SEP) if p not in ("", "/")]


def primary_key(volume: str, directory: str, file: str) -> str:
    """The key Traktor's playlists use for a track: ``VOLUME + DIR + FILE``."""
    return f"{volume}{directory}{file}"


def relative_path(directory: str, file: str) -> str:
    """``DIR`` + ``FILE`` as a slash-separated path without a leading slash."""
    return "/".join([*dir_parts(directory), file])


def location_to_path(volume: str, directory: str, file: str, *,
                     volume_roots: Mapping[str, str | Path] | None = None) -> Path:
    """The file a LOCATION names (see the module docstring for the rules)."""
    rel = relative_path(directory, file)
    if volume_roots and volume in volume_roots:
        return Path(volume_roots[volume]) / rel
    if _DRIVE.match(volume):
        return Path(f"{volume[0].upper()}:/{rel}")
    if not volume:
        return Path("/" + rel)
    mounted = Path("/Volumes") / volume / rel
    if not mounted.exists():
        root = Path("/" + rel)
        if root.exists():
            return root
    return mounted


def volume_mounted(volume: str, *, volume_roots: Mapping[str, str | Path] | None = None) -> bool:
    """True when the volume's root folder exists on this machine."""
    if volume_roots and volume in volume_roots:
        return Path(volume_roots[volume]).is_dir()
    if _DRIVE.match(volume):
        return Path(f"{volume[0].upper()}:/").is_dir()
    return not volume or (Path("/Volumes") / volume).is_dir()


def streaming_kind(volume: str, volume_id: str, directory: str, file: str) -> str | None:
    """The streaming service of a LOCATION (``"beatport"``, ...), or None for a local file."""
    for text in (volume, volume_id, file):
        m = _SERVICE_PREFIX.match(text or "")
        if m:
            return m.group(1).lower()
    local_file = PurePosixPath(file or "").suffix.lower() in AUDIO_EXTENSIONS
    for text in (volume, volume_id):
        m = _SERVICE_NAME.match(text or "")
        if m and not local_file:
            return m.group(1).lower()
    return None
