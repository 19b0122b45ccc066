"""Decoder chatter: native decoders (libmpg123 inside libsndfile, say) print straight to file
descriptor 2, past Python's logging -- over a progress bar, and without naming the file.

:func:`decoder_messages` catches those lines while a file decodes in a worker process, so the
worker can hand them back and the parent logs them with the file named (:func:`log_messages`).
In the main process it catches nothing: a progress bar may be drawing on the same descriptor.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence

MAX_LINES = 3  # a damaged MP3 can print the same complaint hundreds of times


@contextlib.contextmanager
def decoder_messages() -> Iterator[list[str]]:
    """The non-empty lines written to fd 2 inside the block (filled in when it ends); in the main
    process always empty, and fd 2 is left alone."""
    lines: list[str] = []
    if multiprocessing.parent_process() is None:
        yield lines
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines += [s.strip() for s in tmp.read().decode("utf-8", "replace").splitlines() if s.strip()]


def log_messages(log: logging.Logger, path: object, lines: Sequence[str]) -> None:
    """Log a file's decoder messages as warnings naming the file (at most :data:`MAX_LINES`, then a count)."""
    for line in lines[:MAX_LINES]:
        log.warning("%s: the decoder said: %s", path, line)
    if len(lines) > MAX_LINES:
        log.warning("%s: ... and %d more decoder messages", path, len(lines) - MAX_LINES)
