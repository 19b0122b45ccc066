"""``djstruct report``: a static HTML report of what the analysis store holds for a library.

:func:`build_report` reads the tracks (from the libraries given, or every library the store
remembers), plans cues as writeback would, decodes each file at a low rate for a waveform
envelope (in worker processes) and writes ``index.html``, one page per analysed track and the
shared assets into ``out_dir``. Nothing is fetched from the network when the pages are viewed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from djstruct import config as paths
from djstruct.audio.chatter import log_messages
from djstruct.cues.plan import load_layout
from djstruct.errors import ConfigError, DjstructError, LibraryError
from djstruct.library import LibrarySource, iter_tracks
from djstruct.report.cache import WaveCache, cache_key
from djstruct.report.data import TrackEntry, build_entry, page_id
from djstruct.report.render import GENERATOR, write_assets, write_index, write_track_page
from djstruct.report.waveform import (
    DECODE_RATE_HZ,
    DEFAULT_POINTS,
    Envelope,
    energy_columns,
    envelope_job,
    from_energy,
    n_columns,
)
from djstruct.store import Store
from djstruct.types import Track
from djstruct.workers import process_pool
from djstruct.writeback.journal import Journal
from djstruct.writeback.plan import default_target

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int | None], None]  # (stage, done, total)


@dataclass(frozen=True)
class ReportConfig:
    """``sources`` empty = every library in the store. ``points``: waveform/energy columns per track;
    ``decode_rate_hz``: the rate files are decoded at for the waveform."""

    sources: tuple[LibrarySource, ...] = ()
    store_path: Path | None = None
    out_dir: Path = Path("djstruct-report")
    layout: str = "default"
    workers: int = 2
    grid: str = "auto"  # auto | library | own: see djstruct.cues.plan.plan_cues
    points: int = DEFAULT_POINTS
    decode_rate_hz: int = DECODE_RATE_HZ


@dataclass(frozen=True)
class ReportResult:
    out_dir: Path
    index: Path
    tracks: int
    pages: int
    failed: int
    pending: int
    missing: int
    no_waveform: int
    size_bytes: int
    seconds: float
    library_errors: list[str] = field(default_factory=list)
    undecodable: int = 0  # pages whose audio file is there but could not be decoded for the waveform
    grid_warnings: int = 0  # tracks whose library grid disagrees with djstruct's tempo


def _read_tracks(config: ReportConfig, store: Any, errors: list[str]) -> Iterator[Track]:
    if not config.sources:
        for d in store.tracks():
            t = Track.from_dict(d)
            yield replace(t, extras={**t.extras, "library": d.get("library", "")})
        return
    for src in config.sources:
        try:
            for item in iter_tracks(src):
                if isinstance(item, LibraryError):
                    errors.append(str(item))
                    continue
                yield replace(item, extras={**item.extras, "library": src.key})
        except LibraryError as e:
            errors.append(str(e))


def _check_out_dir(out: Path) -> None:
    index = out / "index.html"
    if index.is_file():
        head = index.read_text(encoding="utf-8", errors="replace")[:2000]
        if GENERATOR not in head:
            raise ConfigError(index, "exists and is not a djstruct report; choose another --out folder")
    elif out.is_file():
        raise ConfigError(out, "is a file; --out needs a folder")


def collect(config: ReportConfig, store: Any, errors: list[str]) -> list[TrackEntry]:
    """One entry per distinct audio file of the libraries (rows and page data, no waveform)."""

    layout = load_layout(config.layout)
    journal = Journal(store)
    seen: set[str] = set()
    used: set[str] = set()
    entries: list[TrackEntry] = []
    for track in _read_tracks(config, store, errors):
        key = str(track.path.resolve()) if track.path.is_absolute() else str(track.path.absolute())
        if key in seen:
            continue
        seen.add(key)
        try:
            analysis = store.get_analysis(track.path)
        except DjstructError as e:
            errors.append(str(e))
            analysis = None
        row = store.get_row(track.path)
        target = default_target(track.source)
        owned = journal.owned(str(track.path.absolute())) if analysis is not None else []
        entries.append(build_entry(track, analysis, row, layout, target, owned, page_id(track.id, used), config.grid))
    return entries


def _envelopes(jobs: list[tuple[str, float, int]], config: ReportConfig) -> Iterator[tuple[str, dict[str, Any] | str]]:
    """``(path, envelope dict or error)`` per job, in completion order; what the decoder printed is
    logged with the file named."""
    if config.workers <= 1 or len(jobs) < 4:
        for path, dur, n in jobs:
            p, env, notes = envelope_job(path, dur, n, config.decode_rate_hz)
            log_messages(log, p, notes)
            yield p, env
        return
    with process_pool(min(config.workers, len(jobs)), preload=("djstruct.audio", "djstruct.report.waveform")) as pool:
        futures = {pool.submit(envelope_job, p, d, n, config.decode_rate_hz): p for p, d, n in jobs}
        for fut in as_completed(futures):
            try:
                p, env, notes = fut.result()
            except Exception as e:  # a worker died (e.g. a decoder crash): that track goes without audio
                yield futures[fut], f"{futures[fut]}: the decoding worker failed ({type(e).__name__}: {e})"
                continue
            log_messages(log, p, notes)
            yield p, env


def _finish_page(entry: TrackEntry, env: dict[str, Any] | str | None, analysis_energy: Any, n: int) -> dict[str, Any]:
    page = dict(entry.page or {})
    dur = float(page["duration_s"])
    if isinstance(env, dict):
        page["wave"] = env
    else:
        note = ("audio file not found: the waveform is drawn from the stored energy" if env is None
                else f"cannot decode the audio ({env}): the waveform is drawn from the stored energy")
        page["wave"] = from_energy(analysis_energy, dur, n, note).to_dict()
    page["energy"] = energy_columns(analysis_energy, dur, n)
    return page


def build_report(config: ReportConfig, on_progress: ProgressFn | None = None) -> ReportResult:
    """Write the report into ``config.out_dir``; returns what was written. Waveforms of files unchanged
    since the last build into the same folder come from its cache. Raises ConfigError for a missing
    store, an unknown layout or an unusable output folder."""

    t0 = time.perf_counter()
    progress = on_progress or (lambda stage, done, total: None)
    store_path = config.store_path or paths.store_path()
    if not store_path.exists():
        raise ConfigError(store_path, "no analysis store yet (run djstruct scan first)")
    out = Path(config.out_dir)
    _check_out_dir(out)
    errors: list[str] = []
    with Store.open(store_path, readonly=True) as store:
        progress("reading", 0, None)
        entries = collect(config, store, errors)
    write_assets(out)
    by_path = {e.row["path"]: e for e in entries if e.page is not None}
    jobs, no_audio = [], []
    for path, e in by_path.items():
        n = n_columns(float(e.page["duration_s"]), config.points)  # type: ignore[index]
        (jobs if e.page["exists"] else no_audio).append((path, float(e.page["duration_s"]), n))  # type: ignore[index]
    total = len(by_path)
    done = 0
    no_waveform = undecodable = 0
    progress("pages", 0, total)

    def write(path: str, env: dict[str, Any] | str | None, n: int) -> None:
        nonlocal done, no_waveform, undecodable
        if not isinstance(env, dict):
            no_waveform += 1
            if isinstance(env, str):
                undecodable += 1
                log.warning("%s (its page shows no waveform of the audio)", env)
        e = by_path[path]
        write_track_page(out, _finish_page(e, env, e.energy, n))
        done += 1
        progress("pages", done, total)

    for path, _dur, n in no_audio:
        write(path, None, n)
    cache = WaveCache(out)
    keys = {p: cache_key(Path(p), d, n, config.decode_rate_hz) for p, d, n in jobs}
    todo = []
    for path, dur, n in jobs:
        hit = cache.get(by_path[path].page_id, keys[path])
        if hit is not None:
            write(path, hit, n)
        else:
            todo.append((path, dur, n))
    log.info("waveforms: %d cached, %d to decode", len(jobs) - len(todo), len(todo))
    cols = {p: n for p, _d, n in todo}
    for path, env in _envelopes(todo, config):
        if isinstance(env, dict):
            cache.put(by_path[path].page_id, keys[path], env)
        write(path, env, cols[path])
    rows = sorted((e.row for e in entries), key=lambda r: (r["review"], r["title"].lower()))
    index = write_index(out, rows, {"layout": config.layout, "store": str(store_path),
                                    "libraries": sorted({r["library"] for r in rows if r["library"]}),
                                    "library_errors": errors})
    size = sum(p.stat().st_size for p in _report_files(out, by_path.values()))
    result = ReportResult(out, index, len(entries), total, sum(1 for r in rows if r["status"] == "failed"),
                          sum(1 for r in rows if r["status"] == "pending"),
                          sum(1 for r in rows if r["status"] == "missing"), no_waveform, size,
                          time.perf_counter() - t0, errors, undecodable,
                          sum(1 for r in rows if r.get("grid_warning")))
    log.info("report: %d tracks, %d pages, %.1f MB in %.1f s", result.tracks, result.pages, size / 1e6, result.seconds)
    return result


def _report_files(out: Path, entries: Any) -> list[Path]:
    files = [out / "index.html", *sorted((out / "assets").glob("*"))]
    files += [out / "tracks" / f"{e.page_id}.html" for e in entries]
    return [p for p in files if p.is_file()]


__all__ = ["ReportConfig", "ReportResult", "build_report", "collect", "Envelope"]
