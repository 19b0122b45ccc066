"""One exception root for everything djstruct raises on purpose.

Every error carries the path it concerns (or ``None``) and a reason a DJ can read; ``str(err)``
is a single line ``"<path>: <reason>"`` that the CLI prints as is.
"""

from __future__ import annotations

from pathlib import Path


class DjstructError(Exception):
    """Root of all djstruct errors. ``exit_code`` is what the command line exits with when one
    ends a command: 1 (something failed) unless a subclass says 2 (usage or configuration) or 3
    (another run holds the lock)."""

    exit_code = 1

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else Path(path)
        self.reason = " ".join(str(reason).split())  # always one line
        super().__init__(str(self))

    def __str__(self) -> str:
        return self.reason if self.path is None else f"{self.path}: {self.reason}"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Errors cross process pools (scan workers): rebuild from (path, reason), not from args.
        return (type(self), (self.path, self.reason))


class AudioError(DjstructError):
    """An audio file could not be read or decoded."""


class UnsupportedFormatError(AudioError):
    """The file is not in a format djstruct can decode."""


class EncodeError(DjstructError):
    """Audio could not be encoded to the requested format."""


class LibraryError(DjstructError):
    """A DJ library (folder, XML, database, tags) could not be read."""


class TagError(LibraryError):
    """A tag payload inside an audio file is malformed."""


class ConfigError(DjstructError):
    """Bad configuration or command-line usage."""

    exit_code = 2


class DetectorError(DjstructError):
    """A detector could not be built or failed on an input."""


class ModelError(DjstructError):
    """A model checkpoint is missing, corrupt or does not match (a configuration problem)."""

    exit_code = 2


class StoreError(DjstructError):
    """The analysis store could not be opened or written."""


class LockError(DjstructError):
    """Another djstruct run holds the lock."""

    exit_code = 3


class WritebackError(DjstructError):
    """Cues could not be written back safely."""
