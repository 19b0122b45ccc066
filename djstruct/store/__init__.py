"""The analysis store: one embedded SQLite file (WAL mode) that makes scans incremental and holds
the writeback journal. :class:`Store` is the API; :mod:`.schema` its tables and migrations."""

from djstruct.store.schema import MIGRATIONS
from djstruct.store.store import FileRow, LibraryStatus, Store, StoreStatus

__all__ = ["MIGRATIONS", "FileRow", "LibraryStatus", "Store", "StoreStatus"]
