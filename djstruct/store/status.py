"""Per-library counts of the analysis store (``djstruct status``): which tracks are analysed, stale,
failed or pending."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct.audio.fingerprint import quick_stat
from djstruct.errors import DjstructError


@dataclass(frozen=True)
class LibraryStatus:
    """Track counts of one library. Each track is in exactly one of ``analysed`` (current analysis),
    ``stale`` (file changed since analysis, analysed by another detector/version, or missing),
    ``failed`` (last attempt failed) and ``pending`` (never analysed); ``missing`` counts the stale
    tracks whose file is not on disk."""

    library: str
    tracks: int = 0
    analysed: int = 0
    stale: int = 0
    failed: int = 0
    pending: int = 0
    missing: int = 0


@dataclass(frozen=True)
class StoreStatus:
    """Per-library counts, plus ``total`` over the distinct files of all libraries (library ``"*"``)."""

    libraries: tuple[LibraryStatus, ...]
    total: LibraryStatus


def status_of_rows(rows: Sequence[tuple[Any, ...]], detector: str | None, detector_version: str | None,
                   retagged: Callable[[Path], bool] | None = None) -> StoreStatus:
    """Counts from ``(library, path, size, mtime_ns, detector, version, has_analysis, has_error)`` rows;
    ``retagged(path)`` tells whether a file whose size/mtime changed kept its audio (a re-tag, not stale)."""
    per: dict[str, dict[str, int]] = {}
    seen: dict[str, str] = {}
    for lib, path, size, mtime_ns, det, ver, has_analysis, has_error in rows:
        if path not in seen:
            seen[path] = _classify(path, size, mtime_ns, det, ver, bool(has_analysis), bool(has_error),
                                   detector, detector_version, retagged)
        counts = per.setdefault(lib, {})
        counts[seen[path]] = counts.get(seen[path], 0) + 1
    total: dict[str, int] = {}
    for kind in seen.values():
        total[kind] = total.get(kind, 0) + 1
    return StoreStatus(tuple(_lib_status(lib, c) for lib, c in per.items()), _lib_status("*", total))


def _classify(path: str, size: int | None, mtime_ns: int | None, det: str | None, ver: str | None,
              has_analysis: bool, has_error: bool, detector: str | None, detector_version: str | None,
              retagged: Callable[[Path], bool] | None = None) -> str:
    try:
        now: tuple[int, int] | None = quick_stat(Path(path))
    except DjstructError:
        now = None
    if now is None:
        return "missing"
    if has_error:
        return "failed"
    if not has_analysis:
        return "pending"
    if (detector is not None and det != detector) or (detector_version is not None and ver != detector_version):
        return "stale"
    if now == (size, mtime_ns) or (retagged is not None and retagged(Path(path))):  # a re-tag is not stale
        return "analysed"
    return "stale"


def _lib_status(library: str, c: dict[str, int]) -> LibraryStatus:
    return LibraryStatus(library, tracks=sum(c.values()), analysed=c.get("analysed", 0),
                         stale=c.get("stale", 0) + c.get("missing", 0), failed=c.get("failed", 0),
                         pending=c.get("pending", 0), missing=c.get("missing", 0))
