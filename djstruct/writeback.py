"""``djstruct writeback``: plan cues for every analysed track, diff them against the library's own
cues, and (unless it is a dry run) write them, journaled so that ``djstruct undo`` restores
everything exactly.

Targets: ``serato`` (hot cues in each file's Serato tags; Serato has no memory cues),
``rekordbox-xml`` (a new XML the DJ imports into Rekordbox; merged from their export when the
source is one), ``rekordbox-db`` (direct ``master.db`` writing: refused, see
:mod:`djstruct.writers.rekordbox_db`). Cue times go through :mod:`djstruct.timing`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from djstruct.cues.diff import CueDiff, diff_cues
from djstruct.cues.plan import load_layout, plan_cues
from djstruct.errors import ConfigError, DjstructError, LibraryError
from djstruct.library import LibrarySource, iter_tracks
from djstruct.types import Cue, Track

log = logging.getLogger(__name__)

TARGETS = ("serato", "rekordbox-xml", "rekordbox-db")
_DEFAULT_TARGET = {"folder": "serato", "rekordbox-xml": "rekordbox-xml", "rekordbox-db": "rekordbox-xml"}


@dataclass(frozen=True)
class WritebackConfig:
    sources: tuple[LibrarySource, ...]
    store_path: Path | None = None
    target: str | None = None
    out: Path | None = None
    layout: str = "default"
    policy: str = "fill"
    dry_run: bool = True
    direct: bool = False


@dataclass(frozen=True)
class TrackPlan:
    """One track: its diff, or why it is skipped / failed."""

    track: Track
    diff: CueDiff | None = None
    offset_s: float = 0.0
    error: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class WritebackResult:
    target: str
    dry_run: bool
    plans: list[TrackPlan]
    run_id: int | None = None
    written: int = 0
    out: Path | None = None
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not any(p.error for p in self.plans)


def _app(target: str) -> str:
    return "serato" if target == "serato" else "rekordbox"


def resolve_target(config: WritebackConfig) -> str:
    target = config.target or _DEFAULT_TARGET[config.sources[0].kind]
    if target not in TARGETS:
        raise ConfigError(None, f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if target == "rekordbox-db" and not config.direct:
        raise ConfigError(None, "writing master.db directly needs --direct (the safe route is --target rekordbox-xml)")
    return target


def plan_track(track: Track, store, journal, layout, target: str, policy: str) -> TrackPlan:  # type: ignore[no-untyped-def]
    """Plan and diff one track (reads the store and, for Serato, the file's current tags)."""
    from djstruct import timing
    from djstruct.audio.fingerprint import fingerprint

    path = track.path
    if not path.is_file():
        return TrackPlan(track, error=f"{path}: file not found (moved or deleted?)")
    analysis = store.get_analysis(path)
    row = store.get_row(path)
    if analysis is None or row is None:
        return TrackPlan(track, skipped="not analysed yet (run djstruct scan)")
    try:
        fp = fingerprint(path)
    except OSError as e:
        return TrackPlan(track, error=f"{path}: cannot read: {e.strerror or e}")
    if row.audio_hash and fp.audio_hash and fp.audio_hash != row.audio_hash:
        return TrackPlan(track, error=f"{path}: the audio changed since the scan; run djstruct scan again first")
    app = _app(target)
    offset = timing.offset_s(path, app)
    existing: tuple[Cue, ...] = track.cues
    if target == "serato":
        from djstruct.library.serato import read_serato_tags

        try:
            existing = read_serato_tags(path).cues  # what is in the file now, not what the scan saw
        except DjstructError as e:
            return TrackPlan(track, error=f"{path}: cannot read Serato tags, not writing: {e.reason}")
    existing = tuple(_shift(c, -offset) for c in existing)
    plan = plan_cues(analysis, layout, track.grid, offset)
    bpm = (track.grid.bpm if track.grid else None) or analysis.bpm or 120.0
    diff = diff_cues(existing, plan, policy=policy, owned=journal.owned(str(path)), beat_s=60.0 / bpm,
                     memory_supported=target != "serato")
    return TrackPlan(track, diff, offset)


def _shift(c: Cue, dt: float) -> Cue:
    return Cue(c.kind, c.start + dt, c.slot, None if c.end is None else c.end + dt, c.name, c.color)


def _to_app(c: Cue, offset: float, app: str) -> Cue:
    from djstruct.timing import to_app

    end = None if c.end is None else to_app(c.end, offset, app)
    return Cue(c.kind, to_app(c.start, offset, app), c.slot, end, c.name, c.color)


def run_writeback(config: WritebackConfig, on_event: Callable[[str, str], None] | None = None) -> WritebackResult:
    """Plan every track of the sources; unless ``dry_run``, write and journal the changes."""
    from djstruct import config as paths
    from djstruct.journal import Journal
    from djstruct.lock import RunLock
    from djstruct.store import Store

    emit = on_event or (lambda kind, msg: None)
    target = resolve_target(config)
    layout = load_layout(config.layout)
    store_path = config.store_path or paths.store_path()
    if not store_path.exists():
        raise ConfigError(store_path, "no analysis store yet (run djstruct scan first)")
    with RunLock(store_path.with_name(store_path.name + ".lock")), Store.open(store_path) as store:
        journal = Journal(store)
        plans: list[TrackPlan] = []
        for src in config.sources:
            for item in iter_tracks(src):
                if isinstance(item, LibraryError):
                    emit("library-error", str(item))
                    continue
                plans.append(plan_track(item, store, journal, layout, target, config.policy))
        if config.dry_run:
            return WritebackResult(target, True, plans)
        from djstruct.writers.apply import apply_plans

        return apply_plans(config, target, layout.name, plans, journal, emit)
