"""A cache of waveform envelopes inside the report folder (``.cache/waveforms/<page>.json``), so
rebuilding a report only decodes the files that changed since the last build.

An entry is used when the file's size and mtime, the analysed duration, the column count and the
decode rate are all unchanged; anything unreadable counts as a miss.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from djstruct.errors import DjstructError
from djstruct.safe_write import atomic_write_text

log = logging.getLogger(__name__)

CACHE_DIR = Path(".cache") / "waveforms"


def cache_key(path: Path, duration_s: float, n: int, rate_hz: int) -> dict[str, Any] | None:
    """What an entry must match, or None when the file cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "duration_s": round(duration_s, 4),
            "n": int(n), "rate_hz": int(rate_hz)}


class WaveCache:
    """Envelope dicts (:meth:`Envelope.to_dict`) by page id under ``out_dir``."""

    def __init__(self, out_dir: Path) -> None:
        self.dir = Path(out_dir) / CACHE_DIR

    def get(self, page_id: str, key: dict[str, Any] | None) -> dict[str, Any] | None:
        if key is None:
            return None
        try:
            entry = json.loads((self.dir / f"{page_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("wave"), dict):
            return None
        return entry["wave"]

    def put(self, page_id: str, key: dict[str, Any] | None, wave: dict[str, Any]) -> None:
        if key is None:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps({"key": key, "wave": wave}, separators=(",", ":"))
            atomic_write_text(self.dir / f"{page_id}.json", text, error=DjstructError)
        except (OSError, DjstructError) as e:  # a cache that cannot be written only costs time next build
            log.debug("cannot write the waveform cache for %s: %s", page_id, e)
