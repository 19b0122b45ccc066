"""``djstruct writeback``: plan every analysed track of the sources and, unless it is a dry run,
write the changes, journaled so that :mod:`djstruct.writeback.undo` restores everything exactly.

Targets: ``serato`` (hot cues in each file's tags, written track by track as it is planned, from
the same read of the tags), ``rekordbox-xml`` (one new XML the DJ imports, written at the end;
merged from their export when the source is one), ``traktor-nml`` (a new NML, or with ``direct``
the collection itself) and ``rekordbox-db`` (``master.db`` itself, only with ``direct``): these
two in :mod:`djstruct.writeback.direct`. Times cross to the application's timeline in
:mod:`djstruct.timing`, here, just before writing.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from djstruct import config as paths
from djstruct import timing
from djstruct.cues.plan import load_layout
from djstruct.errors import ConfigError, DjstructError, LibraryError, WritebackError
from djstruct.library import LibrarySource, iter_tracks
from djstruct.library.rekordbox.xml_write import write_xml
from djstruct.library.serato.write import write_hot_cues
from djstruct.lock import RunLock
from djstruct.safe_write import file_sha256, remove_stale_temps
from djstruct.store import Store
from djstruct.writeback import direct as direct_targets
from djstruct.writeback import frame_backup
from djstruct.writeback.journal import Journal
from djstruct.writeback.plan import TrackPlan, check_target, default_target, plan_track

log = logging.getLogger(__name__)

EventFn = Callable[[str, str], None]


@dataclass(frozen=True)
class WritebackConfig:
    """What to write: ``dry_run`` must be said; ``target`` None = the sources' default."""

    sources: tuple[LibrarySource, ...]
    dry_run: bool
    store_path: Path | None = None
    target: str | None = None
    out: Path | None = None
    layout: str = "default"
    policy: str = "fill"
    direct: bool = False
    grid: str = "auto"  # auto | library | own: see djstruct.cues.plan.plan_cues


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


def resolve_target(config: WritebackConfig) -> str:
    target = check_target(config.target or default_target(config.sources[0].kind), config.direct)
    if target in direct_targets.APP:
        path = direct_targets.library_file(config.sources, target, config.policy)
        if target == "traktor-nml":
            direct_targets.nml_out(path, config.out, config.direct)
    return target


class _Run:
    """The journal run of one writeback, started at its first change."""

    def __init__(self, journal: Journal, config: WritebackConfig, target: str, layout_name: str) -> None:
        self.journal, self.config, self.target, self.layout_name = journal, config, target, layout_name
        self.run_id: int | None = None
        self.written = 0
        self.failed: list[tuple[str, str]] = []

    def start(self) -> int:
        if self.run_id is None:
            src = ", ".join(s.key for s in self.config.sources)
            self.run_id = self.journal.start_run(self.target, self.config.policy, self.layout_name, src)
        return self.run_id

    def finish(self, status: str | None = None) -> None:
        if self.run_id is not None:
            status = status or ("done" if not self.failed else "partial")
            self.journal.finish_run(self.run_id, status, {"written": self.written, "failed": len(self.failed)})

    def serato(self, p: TrackPlan, emit: EventFn) -> None:
        """Write one track's hot cues into its file, journaled before any byte changes."""
        assert p.diff is not None
        path = p.track.path
        off = timing.offset_s(path, "serato")
        hot = [timing.cue_to_app(c, off, "serato") for c in p.diff.result if c.kind == "hot" and not c.is_loop]
        try:
            if not p.state.is_current():
                raise WritebackError(path, "the file changed while writeback ran; nothing written (run it again)")
            remove_stale_temps(path)
            backup = {"serato": p.state.backup.to_dict(), "frame": frame_backup.take(path),
                      "planned": [c.to_dict() for c in hot]}  # lets undo after a crash tell our result from an edit
            entry = self.journal.record(self.start(), str(path), p.track.id, "serato", backup, p.diff.written)
            write_hot_cues(path, hot, p.state)
            self.journal.mark_written(entry, file_sha256(path))
            self.journal.store.refresh_retagged(path)  # new tags, same audio: the analysis stays current
            self.written += 1
            emit("written", str(path))
        except (DjstructError, OSError) as e:
            msg = str(e) if isinstance(e, DjstructError) else f"{path}: {e.strerror or e}"
            self.failed.append((str(path), msg))
            emit("failed", msg)

    def xml(self, todo: list[TrackPlan], emit: EventFn) -> Path:
        """Write one Rekordbox XML with every changed track's cues."""
        out = _xml_out(self.config)
        src = self.config.sources[0]
        base = src.path if src.kind == "rekordbox-xml" else None
        mapping = {}
        for p in todo:
            assert p.diff is not None
            off = timing.offset_s(p.track.path, "rekordbox")
            mapping[p.track.id] = [timing.cue_to_app(c, off, "rekordbox") for c in p.diff.result]
        tracks = None if base is not None else [p.track for p in todo]
        before = {"existed": out.exists(),
                  "content": base64.b64encode(out.read_bytes()).decode() if out.exists() else None}
        run_id = self.start()
        entry = self.journal.record(run_id, str(out), None, "file", before, ())
        owners = [self.journal.record(run_id, str(p.track.path), p.track.id, "cues", {}, p.diff.written)
                  for p in todo if p.diff]
        remove_stale_temps(out)
        write_xml(out, mapping, base_xml=base, tracks=tracks,
                  on_ready=lambda tmp: self.journal.plan_after(entry, file_sha256(tmp)))
        self.journal.mark_written(entry, file_sha256(out))
        for eid in owners:
            self.journal.mark_written(eid, "")
        self.written = len(mapping)
        emit("written", str(out))
        return out

    def direct(self, todo: list[TrackPlan], emit: EventFn) -> Path | None:
        """traktor-nml / rekordbox-db: the library file itself (or a new NML); a dry run asks the
        format's own planner which tracks it would refuse."""
        src = direct_targets.library_file(self.config.sources, self.target, self.config.policy)
        dest = direct_targets.nml_out(src, self.config.out, self.config.direct) if self.target == "traktor-nml" else src
        if self.config.dry_run:
            failed = direct_targets.dry_run_failures(self.target, src, todo)
            for _, msg in failed:
                emit("failed", msg)
            self.failed += failed
            return None
        if self.target == "traktor-nml":
            self.written, failed = direct_targets.write_traktor(self.journal, self.start, src, dest, todo, emit)
        else:
            self.written, failed = direct_targets.write_rekordbox_db(self.journal, self.start, src, todo, emit)
        self.failed += failed
        return dest


def _xml_out(config: WritebackConfig) -> Path:
    if config.out is not None:
        return config.out
    src = config.sources[0]
    if src.kind == "rekordbox-xml" and src.path is not None:
        return src.path.with_name(src.path.stem + "-djstruct.xml")
    raise WritebackError(None, "name the XML to write with --out FILE")


def run_writeback(config: WritebackConfig, on_event: EventFn | None = None) -> WritebackResult:
    """Plan every track of the sources; unless ``dry_run``, write and journal the changes."""
    emit = on_event or (lambda kind, msg: None)
    target = resolve_target(config)
    layout = load_layout(config.layout)
    store_path = config.store_path or paths.store_path()
    if not store_path.exists():
        raise ConfigError(store_path, "no analysis store yet (run djstruct scan first)")
    with RunLock.for_store(store_path), Store.open(store_path) as store:
        journal = Journal(store)
        run = _Run(journal, config, target, layout.name)
        plans: list[TrackPlan] = []
        out: Path | None = None
        try:
            for src in config.sources:
                try:
                    for item in iter_tracks(src):
                        if isinstance(item, LibraryError):
                            emit("library-error", str(item))
                            continue
                        if not config.dry_run and target == "serato" and item.path.is_file():
                            remove_stale_temps(item.path)  # left by a killed run (a dry run changes nothing)
                        p = plan_track(item, store, journal.owned(str(item.path)), layout, target, config.policy,
                                       config.grid)
                        if not config.dry_run and target == "serato" and p.diff is not None and p.diff.changed:
                            run.serato(p, emit)
                        plans.append(replace(p, state=None))  # the tags read for this track are not kept
                except LibraryError as e:  # the library cannot be read at all: the next one still is
                    emit("library-error", str(e))
                    run.failed.append((str(e.path or src.path), str(e)))
            todo = [p for p in plans if p.diff is not None and p.diff.changed]
            if not config.dry_run and todo and target == "rekordbox-xml":
                out = run.xml(todo, emit)
            elif todo and target in direct_targets.APP:
                out = run.direct(todo, emit)
        except BaseException:
            run.finish("failed")
            raise
        run.finish()
        return WritebackResult(target, config.dry_run, plans, run.run_id, run.written, out, run.failed)
