"""Rekordbox ``Location`` URLs <-> file paths, byte-exact in both directions.

Rekordbox stores every track file as a ``file://localhost`` URL:

=========  ====================================================================
macOS      ``file://localhost/Users/dj/Music/Kanine%20-%20Tell%20Me.wav``
Windows    ``file://localhost/C:/Music/PioneerDJ/Demo%20Tracks/Demo%20Track%201.mp3``
=========  ====================================================================

The path is UTF-8, percent-encoded with *lower-case* hex digits (``It%e2%80%99s``), and rekordbox
leaves ``! $ ( ) + , ; @`` as they are but encodes space, ``& ' [ ]`` (seen in a 2,018-track
rekordbox 6.6.1 export). ``~ * = :`` are assumed to stay unencoded (URI ``pchar``; never seen
encoded or unencoded in a real export); ``# % ?``, backslash, controls and all non-ASCII bytes
are always encoded. pyrekordbox's helpers drop the leading slash of macOS paths and write upper-case
hex, so they are not used here.

How a path is represented
-------------------------
:func:`location_to_path` returns a :class:`~pathlib.Path` built from the decoded path string with
forward slashes: ``Path("/Users/dj/x.mp3")`` for macOS, ``Path("C:/Music/x.mp3")`` for Windows.
On a Windows host the latter is an ordinary absolute ``WindowsPath``. On macOS/Linux it is a
``PosixPath`` whose first component is the drive (``"C:"``): it keeps the drive letter, is *not*
``is_absolute()`` there, and ``PureWindowsPath(str(p))`` gives the Windows view back. Use
:func:`is_absolute_location_path` to test either kind. A percent sequence that is not valid UTF-8
is kept as a surrogate escape (like :func:`os.fsdecode`) so that it encodes back to the same
bytes. Readers keep the original URL in ``Track.extras["location"]``; writers should reuse it
when the track was not moved, and fall back to :func:`path_to_location` otherwise.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path, PurePath, PureWindowsPath
from typing import Literal
from urllib.parse import unquote

logger = logging.getLogger(__name__)

LocationStyle = Literal["mac", "windows"]

URL_PREFIX = "file://localhost"
_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    b"-._~!$()*+,;=:@/"
)
# Every byte value -> its URL form (rekordbox writes lower-case hex).
_BYTE_TO_URL: tuple[str, ...] = tuple(chr(b) if b in _SAFE else f"%{b:02x}" for b in range(256))
_DRIVE_RE = re.compile(r"^[A-Za-z]:(?:[\\/]|$)")
_URL_RE = re.compile(r"^file://(?P<host>[^/]*)(?P<path>/.*)?$", re.IGNORECASE | re.DOTALL)


def _decode(text: str) -> str:
    return unquote(text, encoding="utf-8", errors="surrogateescape")


def _encode(path: str) -> str:
    data = path.encode("utf-8", errors="surrogateescape")
    return "".join(_BYTE_TO_URL[b] for b in data)


def location_style(url: str) -> LocationStyle:
    """``"windows"`` if the URL names a drive-letter or UNC path, else ``"mac"``."""
    return _guess_style(_url_path(url))


def _url_path(url: str) -> str:
    """The decoded path part of a ``file:`` URL, without the leading slash of a drive path."""
    m = _URL_RE.match(url.strip())
    if m is None:
        raise ValueError(f"not a file:// URL: {url!r}")
    host = _decode(m.group("host") or "")
    path = _decode(m.group("path") or "")
    if not path or path == "/":
        raise ValueError(f"file URL has no path: {url!r}")
    if host and host.lower() != "localhost":
        return f"//{host}{path}"  # a network share: file://server/share/x -> //server/share/x
    if re.match(r"^/[A-Za-z]:(?:/|$)", path):
        return path[1:]  # /C:/Music -> C:/Music
    return path


def location_to_path(url: str) -> Path:
    """Decode a rekordbox ``Location`` URL to a path (see the module docstring for Windows).

    Raises :class:`ValueError` for anything that is not a ``file:`` URL with a path.
    """
    return Path(_url_path(url))


def is_absolute_location_path(path: str | PurePath) -> bool:
    """True for ``/abs/path``, ``C:/x`` or ``C:\\x`` and ``//server/share`` on any host OS."""
    text = str(path)
    return text.startswith(("/", "\\\\")) or bool(_DRIVE_RE.match(text))


def _guess_style(text: str) -> LocationStyle:
    if _DRIVE_RE.match(text) or text.startswith(("//", "\\\\")):
        return "windows"
    return "mac"


def path_to_location(path: str | PurePath, *, style: LocationStyle | None = None) -> str:
    """Encode a path the way rekordbox writes ``Location`` (lower-case hex, its safe set).

    ``style`` ``"windows"`` turns backslashes into slashes and expects a drive (``C:/...``) or a
    UNC path; ``"mac"`` keeps backslashes as part of file names (encoded as ``%5c``) and expects
    an absolute POSIX path. ``None`` picks ``"windows"`` for a drive-letter or UNC path, else
    ``"mac"`` (so a mac path read on a Windows host, ``WindowsPath("/Users/x")``, stays mac).
    Raises :class:`ValueError` for a relative path, which has no URL form.
    """
    text = str(path)
    if isinstance(path, PureWindowsPath):  # includes WindowsPath on a Windows host
        text = text.replace("\\", "/")
    if style is None:
        style = _guess_style(text)
    if style == "windows":
        text = text.replace("\\", "/")
        if text.startswith("//"):
            host, _, rest = text[2:].partition("/")
            if not host:
                raise ValueError(f"UNC path without a server: {path!s}")
            return f"file://{_encode(host)}/{_encode(rest)}"
        if not _DRIVE_RE.match(text):
            raise ValueError(f"not an absolute Windows path: {path!s}")
        return f"{URL_PREFIX}/{_encode(text)}"
    if style != "mac":
        raise ValueError(f"unknown location style {style!r}")
    if not text.startswith("/"):
        raise ValueError(f"not an absolute path: {path!s}")
    return URL_PREFIX + _encode(text)
