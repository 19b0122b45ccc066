"""The analysis store: one embedded SQLite file (WAL mode) that makes scans incremental and holds
the writeback journal. :class:`Store` is the API; :mod:`.schema` its tables and migrations."""

from pathlib import Path

from djstruct.config import store_path as default_store_path
from djstruct.errors import ConfigError
from djstruct.store.schema import MIGRATIONS
from djstruct.store.store import FileRow, LibraryStatus, Store, StoreStatus


def read_status(path: Path | None = None) -> tuple[Path, StoreStatus]:
    """The store's path and its per-library counts (the store must exist already)."""
    path = path or default_store_path()
    if not path.exists():
        raise ConfigError(path, "no analysis store yet (run `djstruct scan` first)")
    with Store.open(path, readonly=True) as store:
        return path, store.status()


__all__ = ["MIGRATIONS", "FileRow", "LibraryStatus", "Store", "StoreStatus", "read_status"]
