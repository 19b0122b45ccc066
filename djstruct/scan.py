"""The batch runner behind ``djstruct scan``.

Reads every library source, records its tracks in the store, and analyses each audio file that
is new or changed: decoding (and, for detectors that run per track, detection) happens in a pool
of worker processes; detectors that batch on a device (``batched = True``) get decoded audio
back in the parent and run ``analyze_batch``. Results are written to the store one track at a
time as they arrive, so a killed run loses at most the tracks in flight. At most
``2 * workers`` tracks are in flight, so memory does not grow with the library.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from djstruct.audio import load_audio
from djstruct.audio.chatter import decoder_messages, log_messages
from djstruct.audio.fingerprint import Fingerprint, fingerprint
from djstruct.config import store_path as default_store_path
from djstruct.constants import MAX_DURATION_S
from djstruct.cues.grid import check_grid
from djstruct.detect.base import get_detector
from djstruct.errors import DjstructError, LibraryError
from djstruct.library import LibrarySource, iter_tracks
from djstruct.lock import RunLock
from djstruct.store import Store
from djstruct.types import Analysis, Audio, LibraryGrid
from djstruct.workers import process_pool

log = logging.getLogger(__name__)

_PRELOAD = ("djstruct.audio", "djstruct.detect.dsp", "djstruct.scan")


@dataclass(frozen=True)
class ScanConfig:
    sources: tuple[LibrarySource, ...]
    store_path: Path | None = None
    detector: str | None = None
    detector_options: dict[str, Any] = field(default_factory=dict)
    workers: int = 2
    batch_size: int = 8
    limit: int | None = None
    force: bool = False
    max_duration_s: float | None = MAX_DURATION_S


@dataclass(frozen=True)
class ScanEvent:
    """Progress: ``kind`` is "planned" (total known), "done", "failed", "library-error", or "warning"
    (the track was analysed; ``error`` says what the DJ should know, e.g. its grid disagrees)."""

    kind: str
    path: str = ""
    done: int = 0
    total: int = 0
    error: str = ""


@dataclass(frozen=True)
class ScanResult:
    tracks_seen: int
    analysed: int
    up_to_date: int
    failed: tuple[tuple[str, str], ...]
    library_errors: tuple[str, ...]
    seconds: float
    warnings: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed and not self.library_errors


# -- worker side ---------------------------------------------------------------------------------
_WORKER_DETECTOR: Any = None


@dataclass(frozen=True)
class WorkResult:
    """What a worker returns for one file: its fingerprint (taken before decoding, so the store
    never marks a newer file as analysed) and the Analysis, or the decoded Audio for a detector
    that batches in the parent, or the error."""

    fingerprint: Fingerprint | None
    analysis: Analysis | None = None
    audio: Audio | None = None
    error: str | None = None
    decoder_notes: tuple[str, ...] = ()  # what the native decoder printed (logged by the parent)


def _init_worker(detector_name: str | None, options: dict[str, Any], detect: bool) -> None:
    global _WORKER_DETECTOR
    if detect:
        _WORKER_DETECTOR = get_detector(detector_name, **options)


def _work(path: str, sample_rate_hz: int, max_duration_s: float | None) -> WorkResult:
    p = Path(path)
    try:
        fp: Fingerprint | None = fingerprint(p)
    except DjstructError:
        fp = None
    notes: list[str] = []
    try:
        with decoder_messages() as notes:
            audio = load_audio(p, sample_rate_hz, max_duration_s=max_duration_s)
        if _WORKER_DETECTOR is None:
            return WorkResult(fp, audio=audio, decoder_notes=tuple(notes))
        return WorkResult(fp, analysis=_WORKER_DETECTOR.analyze(audio), decoder_notes=tuple(notes))
    except DjstructError as e:
        return WorkResult(fp, error=str(e), decoder_notes=tuple(notes))


# -- parent side ---------------------------------------------------------------------------------
def collect_tracks(config: ScanConfig, store: Any, emit: Callable[[ScanEvent], None],
                   grids: dict[str, LibraryGrid] | None = None) -> tuple[list[Path], int]:
    """Read all sources, record tracks in the store; return unique existing paths and the number
    of library entries seen (and fill ``grids``: path -> the library's beat grid, where it has one).
    Unreadable entries and missing files are reported as events."""
    seen: dict[str, Path] = {}
    n_entries = 0
    for src in config.sources:
        tracks = []
        try:
            for item in iter_tracks(src):
                if isinstance(item, LibraryError):
                    emit(ScanEvent("library-error", str(item.path or src.path), error=str(item)))
                    continue
                n_entries += 1
                tracks.append(item)
        except LibraryError as e:
            emit(ScanEvent("library-error", str(e.path or src.path), error=str(e)))
            continue
        store.upsert_tracks(src.key, tracks)
        for t in tracks:
            key = os.path.normcase(os.path.abspath(t.path))
            if grids is not None and t.grid is not None:
                grids.setdefault(str(t.path), t.grid)
            if key in seen:
                continue
            seen[key] = t.path
    return list(seen.values()), n_entries


def plan_tracks(config: ScanConfig, store: Any, detector: Any, emit: Callable[[ScanEvent], None],
                failed: list[tuple[str, str]], grids: dict[str, LibraryGrid] | None = None
                ) -> tuple[list[Path], int, int]:
    """The tracks to analyse (``todo``), the number of library entries and of tracks up to date;
    missing files are appended to ``failed`` and reported. Ends with the "planned" event."""
    paths, n_entries = collect_tracks(config, store, emit, grids)
    todo: list[Path] = []
    n_missing = 0
    for p in paths:
        if not p.is_file():
            msg = f"{p}: file not found (moved or deleted?)"
            failed.append((str(p), msg))
            n_missing += 1
            emit(ScanEvent("failed", str(p), error=msg))
            continue
        if store.needs_analysis(p, detector.name, detector.version, force=config.force):
            todo.append(p)
    if config.limit is not None:
        todo = todo[: config.limit]
    emit(ScanEvent("planned", total=len(todo)))
    return todo, n_entries, len(paths) - len(todo) - n_missing


def run_scan(config: ScanConfig, on_event: Callable[[ScanEvent], None] | None = None) -> ScanResult:
    """Scan every source in ``config`` and analyse what changed. Holds the store's run lock."""

    t_start = time.perf_counter()
    emit = on_event or (lambda e: None)
    store_path = config.store_path or default_store_path()
    detector = get_detector(config.detector, **config.detector_options)
    batched = bool(getattr(detector, "batched", False))
    failed: list[tuple[str, str]] = []
    lib_errors: list[str] = []
    warnings: list[tuple[str, str]] = []
    grids: dict[str, LibraryGrid] = {}
    # on a CPU, one track at a time (no faster in batches), so progress moves per track
    batch_size = config.batch_size if str(getattr(detector, "device", "cpu")).startswith("cuda") else 1

    def record(e: ScanEvent) -> None:
        if e.kind == "library-error":
            lib_errors.append(e.error)
        emit(e)

    with RunLock.for_store(store_path), Store.open(store_path) as store, \
            process_pool(config.workers, preload=_PRELOAD, initializer=_init_worker,
                         initargs=(config.detector, config.detector_options, not batched)) as pool:
        todo, n_entries, up_to_date = plan_tracks(config, store, detector, record, failed, grids)

        done = n_ok = 0

        def finish(path: Path, fp: Fingerprint | None, result: Analysis | None, error: str | None) -> None:
            nonlocal done, n_ok
            done += 1
            if error is None and result is not None:
                store.put_analysis(path, result, detector.name, detector.version, fp)
                n_ok += 1
                check = check_grid(result, grids.get(str(path)))
                if check is not None and not check.agrees:
                    warnings.append((str(path), check.message()))
                    emit(ScanEvent("warning", str(path), done, len(todo), check.message()))
                emit(ScanEvent("done", str(path), done, len(todo)))
            else:
                store.put_error(path, error or "unknown error", fp)
                failed.append((str(path), error or "unknown error"))
                emit(ScanEvent("failed", str(path), done, len(todo), error or ""))

        pending_audio: list[tuple[Path, Fingerprint | None, Audio]] = []

        def flush_batch() -> None:
            if not pending_audio:
                return
            batch = list(pending_audio)
            pending_audio.clear()
            try:
                results = detector.analyze_batch([a for _, _, a in batch])
            except DjstructError:
                results = None
            for i, (p, fp, a) in enumerate(batch):
                if results is not None:
                    finish(p, fp, results[i], None)
                    continue
                try:  # batch failed: fall back to one at a time so one bad track doesn't sink the rest
                    finish(p, fp, detector.analyze(a), None)
                except DjstructError as e:
                    finish(p, fp, None, str(e))

        for path, res in _run_pool(pool, todo, detector, config):
            log_messages(log, path, res.decoder_notes)
            if res.audio is not None:
                pending_audio.append((path, res.fingerprint, res.audio))
                if len(pending_audio) >= batch_size:
                    flush_batch()
            else:
                finish(path, res.fingerprint, res.analysis, res.error or (None if res.analysis else "no result"))
        flush_batch()

    return ScanResult(
        tracks_seen=n_entries,
        analysed=n_ok,
        up_to_date=up_to_date,
        failed=tuple(failed),
        library_errors=tuple(lib_errors),
        seconds=time.perf_counter() - t_start,
        warnings=tuple(warnings),
    )


def _run_pool(
    pool: ProcessPoolExecutor, todo: list[Path], detector: Any, config: ScanConfig
) -> Iterator[tuple[Path, WorkResult]]:
    """Yield (path, WorkResult) as workers finish, keeping at most
    ``2 * workers`` tracks in flight."""
    if not todo:
        return
    workers = max(1, config.workers)
    queue = iter(todo)
    inflight: dict[Future, Path] = {}

    def submit_next() -> bool:
        p = next(queue, None)
        if p is None:
            return False
        inflight[pool.submit(_work, str(p), detector.sample_rate_hz, config.max_duration_s)] = p
        return True

    for _ in range(2 * workers):
        if not submit_next():
            break
    while inflight:
        finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
        for fut in finished:
            p = inflight.pop(fut)
            try:
                yield p, fut.result()
            except Exception as e:  # a crash in a worker must not end the batch
                log.debug("worker failed on %s", p, exc_info=True)
                yield p, WorkResult(None, error=f"{p}: {type(e).__name__}: {e}")
            submit_next()
