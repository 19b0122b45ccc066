"""The Parquet output of a Ray scan: a folder of part files, one row per analysed track.

Columns: ``path``, ``size`` (bytes), ``mtime_ns``, ``audio_hash`` (the fingerprint taken before
decoding; null when it could not be taken), ``detector``, ``detector_version``, ``analysis`` (the
Analysis JSON, null on failure), ``error`` (null on success) and ``finished_at`` (s since the epoch).
Any Parquet reader takes the folder as one dataset (``pyarrow.dataset.dataset(folder)``).

Each part is written whole and renamed into place (:func:`djstruct.safe_write.atomic_write`), so a
driver killed at any moment leaves only complete parts. Part names sort by the time they were
written (``part-<ns since the epoch>-<pid>-<n>.parquet``): a later row for a path supersedes an earlier one.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct.audio.fingerprint import Fingerprint, quick_stat
from djstruct.errors import DjstructError, StoreError
from djstruct.safe_write import TMP_PREFIX, atomic_write
from djstruct.types import Analysis

log = logging.getLogger(__name__)

COLUMNS = ("path", "size", "mtime_ns", "audio_hash", "detector", "detector_version", "analysis", "error",
           "finished_at")


def default_folder(store_path: Path) -> Path:
    """Where a scan into ``store_path`` writes its Parquet dataset by default: ``<store>.parquet/``."""
    return store_path.with_name(store_path.name + ".parquet")


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
                      ("audio_hash", pa.string()), ("detector", pa.string()), ("detector_version", pa.string()),
                      ("analysis", pa.string()), ("error", pa.string()), ("finished_at", pa.float64())])


@dataclass(frozen=True)
class OutRow:
    """One track's result: the Analysis JSON or the error (one of them is None)."""

    path: str
    fp: Fingerprint | None
    analysis: str | None
    error: str | None


class PartWriter:
    """Writes rows to new part files of ``folder`` for one detector (name and version)."""

    def __init__(self, folder: Path, detector: str, version: str) -> None:
        self.folder = Path(folder)
        self.detector, self.version = detector, version
        self._run = f"{time.time_ns():020d}-{os.getpid()}"
        self._seq = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(self.folder, f"cannot create the Parquet output folder: {e.strerror or e}") from e

    def write(self, rows: list[OutRow]) -> Path:
        """One part holding ``rows``, in place when this returns."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        now = time.time()
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        for r in rows:
            fp = r.fp
            values = (r.path, fp and fp.size, fp and fp.mtime_ns, fp and fp.audio_hash, self.detector, self.version,
                      r.analysis, r.error, now)
            for c, v in zip(COLUMNS, values, strict=True):
                cols[c].append(v)
        table = pa.Table.from_pydict(cols, schema=_schema())
        self._seq += 1
        path = self.folder / f"part-{self._run}-{self._seq:06d}.parquet"
        atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"), error=StoreError)
        return path


def parts(folder: Path) -> list[Path]:
    """The part files of ``folder``, oldest first."""
    return sorted(Path(folder).glob("part-*.parquet"))


def remove_partial(folder: Path) -> int:
    """Remove the temporary files a killed writer left in ``folder`` (never a finished part)."""
    n = 0
    for tmp in Path(folder).glob(f"{TMP_PREFIX}part-*.parquet.*"):
        try:
            tmp.unlink()
            n += 1
        except OSError as e:
            log.warning("%s: cannot remove this partial part: %s", tmp, e)
    return n


def read_rows(folder: Path, columns: tuple[str, ...] = COLUMNS) -> Iterator[dict[str, Any]]:
    """Every row of every readable part, oldest part first, one part in memory at a time. A part
    that cannot be read is logged and skipped (its tracks are analysed again)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for part in parts(folder):
        try:
            table = pq.read_table(part, columns=list(columns))
        except (pa.ArrowException, OSError) as e:
            log.warning("%s: unreadable part skipped (%s); its tracks will be analysed again", part, e)
            continue
        yield from table.to_pylist()


def fill_store(folder: Path, store: Any, detector: str, version: str) -> int:
    """Put into ``store`` every analysis of ``folder`` by ``detector`` at ``version`` that the store
    lacks while the file is still as it was analysed (same size and mtime): what a driver killed
    between writing a part and filling the store left, or a run into another store. Returns how
    many analyses were put."""
    if not Path(folder).is_dir():
        return 0
    n = 0
    for r in read_rows(folder):
        if r["analysis"] is None or r["size"] is None or r["detector"] != detector or r["detector_version"] != version:
            continue
        path = Path(r["path"])
        fp = Fingerprint(r["size"], r["mtime_ns"], r["audio_hash"])
        row = store.get_row(path)
        if (row is not None and row.has_analysis and row.error is None and row.detector == detector
                and row.detector_version == version and (row.size, row.mtime_ns) == (fp.size, fp.mtime_ns)):
            continue  # already there
        try:
            if quick_stat(path) != (fp.size, fp.mtime_ns):
                continue  # changed since: analyse it again
            analysis = Analysis.from_dict(_loads(r["analysis"]))
        except (DjstructError, ValueError, KeyError, TypeError) as e:
            log.debug("%s: Parquet row not used (%s)", path, e)
            continue
        store.put_analysis(path, analysis, detector, version, fp)
        n += 1
    return n


def _loads(text: str) -> dict[str, Any]:
    d = json.loads(text)
    if not isinstance(d, dict):
        raise ValueError("the analysis is not a JSON object")
    return d
