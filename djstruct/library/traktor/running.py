"""Is Traktor running? Traktor rewrites ``collection.nml`` when it quits, so writing it meanwhile
would be silently lost (or lose the DJ's session): writers refuse while it runs.

Process names: ``Traktor`` / ``Traktor Pro 3`` / ``Traktor Pro 4`` on macOS (the app bundles'
executables) and ``Traktor.exe`` / ``Traktor Pro 3.exe`` on Windows. Helpers such as the audio
drivers or Native Access are not Traktor and do not count.
"""

from __future__ import annotations

import logging
import os
import re

from djstruct.errors import WritebackError

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^traktor( pro)?( \d+)?$", re.IGNORECASE)


def traktor_pid() -> int:
    """The pid of a running Traktor, or 0 (also 0 when processes cannot be listed)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with pyrekordbox
        logger.debug("psutil not installed: cannot check whether Traktor runs")
        return 0
    for proc in psutil.process_iter(["name"]):
        try:
            name = os.path.splitext(proc.info.get("name") or "")[0]
        except (psutil.Error, OSError):
            continue
        if _NAME.match(name.strip()):
            return int(proc.pid)
    return 0


def refuse_if_running(path: object) -> None:
    """Raise :class:`WritebackError` (one line, naming ``path``) while Traktor runs."""
    pid = traktor_pid()
    if pid:
        raise WritebackError(path, f"Traktor is running (pid {pid}); quit Traktor first, it rewrites its "
                                   "collection when it closes")
