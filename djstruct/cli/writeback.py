"""``djstruct writeback SOURCE`` and ``djstruct undo [RUN]``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from djstruct.cli.common import (
    Report,
    call,
    err,
    fmt_time,
    library_options,
    make_sources,
    out,
)
from djstruct.cues.diff import NO_MEMORY
from djstruct.cues.grid import GRID_CHOICES
from djstruct.jsonout import dumps

_OUT_LABEL = {"traktor-nml": "NML", "rekordbox-db": "database"}
_STYLE = {"keep": "dim", "add": "green", "replace": "yellow", "remove": "red", "skip": "dim italic"}


@click.command("writeback")
@library_options
@click.option("--dry-run", is_flag=True, help="Show what would be written; change nothing.")
@click.option("--target", type=click.Choice(["serato", "rekordbox-xml", "rekordbox-db", "traktor-nml"]), default=None,
              help="Where cues go (default: the library's own kind; Rekordbox libraries get an XML, a Traktor "
                   "collection a new NML).")
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="The Rekordbox XML or the new Traktor NML to write.")
@click.option("--layout", default="default", show_default=True,
              help="Cue layout: a preset (default: hot cues A-H in time order; slots: fixed slots, C = first "
                   "drop; drops; minimal) or a TOML file.")
@click.option("--policy", type=click.Choice(["fill", "replace-own", "replace-all"]), default="fill",
              show_default=True, help="fill never touches your cues; replace-own replaces cues djstruct wrote.")
@click.option("--grid", type=click.Choice(GRID_CHOICES), default="auto", show_default=True,
              help="The grid cues snap to: auto = the library's beat grid when it agrees with djstruct's tempo "
                   "(up to double/half time), no cues on a track where it disagrees; library = the library's grid "
                   "always; own = djstruct's downbeats.")
@click.option("--direct", is_flag=True,
              help="Write the application's own library: master.db (--target rekordbox-db) or the Traktor "
                   "collection in place (backup, journal, undo). Refused while the application runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track and line.")
def writeback(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, dry_run, target, out_file, layout,
              policy, grid, direct, as_json) -> None:  # type: ignore[no-untyped-def]
    """Turn analyses into hot cues and memory cues in the DJ library (journaled: see `undo`)."""
    from djstruct.writeback.apply import WritebackConfig, run_writeback

    sources = make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)
    cfg = WritebackConfig(tuple(sources), dry_run, store, target, out_file, layout, policy, direct,
                          grid=grid)

    def on_event(kind: str, msg: str) -> None:
        if kind in ("failed", "library-error", "backup", "note"):
            err.print(f"{kind}: {msg}", markup=False, highlight=False)

    result = call(run_writeback, cfg, on_event)

    totals = {"keep": 0, "add": 0, "replace": 0, "remove": 0, "skip": 0}
    no_memory = 0
    for p in result.plans:
        if p.diff is not None:
            for a in totals:
                totals[a] += p.diff.count(a)
            no_memory += sum(1 for c in p.diff.changes if c.reason == NO_MEMORY)
        if as_json:
            print(dumps(p.to_dict(result.target)), flush=True)
        elif p.error:
            err.print(f"failed: {p.error}", markup=False, highlight=False)
        elif p.diff is not None:
            out.print(track_line(p), highlight=False)
            if p.warning:
                err.print(f"[yellow]warning:[/] {escape(str(p.track.path))}: {escape(p.warning)}", highlight=False)
            if dry_run:
                _render(p)
    if not as_json:
        verb = "would write" if dry_run else "wrote"
        n_changed = (sum(1 for p in result.plans if p.diff is not None and p.diff.changed) if dry_run
                     else result.written)
        out.print(f"[bold]{verb}[/] {n_changed} of {len(result.plans)} tracks to {result.target}: "
                  f"{totals['add']} added, {totals['replace']} replaced, {totals['remove']} removed, "
                  f"{totals['keep']} kept, {totals['skip'] - no_memory} skipped"
                  + (f"; run {result.run_id} (undo with: djstruct undo {result.run_id})" if result.run_id else "")
                  + (f"; {_OUT_LABEL.get(result.target, 'XML')}: {result.out}" if result.out else ""))
        if no_memory:
            out.print(f"{no_memory} memory cues not written: {result.target} has no memory cues "
                      "(--target rekordbox-xml writes them)")
        disagree = [p for p in result.plans if p.diff is not None and p.diff.warning]
        if disagree:
            then = "" if grid != "auto" else "; they got no cues (--grid library|own)"
            out.print(f"[yellow]{len(disagree)} tracks where the library's beat grid disagrees with djstruct's "
                      f"tempo[/]: see the warnings{then}")
        skipped = [p for p in result.plans if p.skipped]
        if skipped:
            out.print(f"{len(skipped)} tracks not analysed yet (run djstruct scan)")
    report = Report()
    report.add_failures(len(result.failed) + sum(1 for p in result.plans if p.error))
    report.exit()


def track_line(p) -> str:  # type: ignore[no-untyped-def]
    """One line per track: file, tempo, sections, what was planned and what happens to it."""
    d = p.diff
    planned = [c for c in d.changes if c.action != "keep" and c.action != "remove" and c.reason != NO_MEMORY]
    hot = sum(1 for c in planned if c.cue.kind == "hot")
    bpm = f"{p.bpm:.1f} BPM" if p.bpm else "no tempo"
    acts = [f"{n} {a}" for a in ("add", "replace", "remove", "skip")
            if (n := sum(1 for c in d.changes if c.action == a and c.reason != NO_MEMORY))]
    if not planned and d.warning:
        return f"[bold]{escape(p.track.path.name)}[/]: {bpm}, {p.sections} sections, no cues planned (see the warning)"
    return (f"[bold]{escape(p.track.path.name)}[/]: {bpm}, {p.sections} sections, {hot} hot + "
            f"{len(planned) - hot} memory cues planned" + (f" ({', '.join(acts)})" if acts else " (nothing to do)"))


def _render(p) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=str(p.track.path), title_justify="left", header_style="bold", box=None)
    for col in ("", "cue", "time", "bar", "name", "colour", "why"):
        table.add_column(col)
    for c in sorted(p.diff.changes, key=lambda c: c.cue.start_s):
        if c.reason == NO_MEMORY:
            continue  # one summary line for all of them
        slot = "ABCDEFGH"[c.cue.slot] if c.cue.kind == "hot" and c.cue.slot is not None and c.cue.slot < 8 else ""
        kind = f"hot {slot}" if c.cue.kind == "hot" else ("loop" if c.cue.is_loop else "memory")
        colour = f"[{c.cue.color}]■[/] {c.cue.color}" if c.cue.color else ""
        table.add_row(f"[{_STYLE[c.action]}]{c.action}[/]", kind, fmt_time(c.cue.start_s),
                      "" if c.bar is None else str(c.bar), escape(c.cue.name), colour, escape(c.reason))
    if table.row_count:
        out.print(table)


@click.command("undo")
@click.argument("run", type=int, required=False)
@click.option("--store", type=click.Path(path_type=Path), default=None, help="Analysis store.")
@click.option("--force", is_flag=True, help="Also restore files changed since djstruct wrote them.")
@click.option("--list", "list_runs", is_flag=True, help="List writeback runs.")
def undo(run: int | None, store: Path | None, force: bool, list_runs: bool) -> None:
    """Restore what writeback RUN wrote (default: the latest run), byte for byte."""
    import datetime as dt

    from djstruct.writeback import undo as undo_mod

    if list_runs:
        table = Table(header_style="bold")
        for col in ("run", "started", "target", "policy", "layout", "status", "files"):
            table.add_column(col)
        for r in call(undo_mod.list_runs, store):
            started = dt.datetime.fromtimestamp(r.started_at).strftime("%Y-%m-%d %H:%M")
            table.add_row(str(r.run_id), started, r.target, r.policy, r.layout, r.status,
                          str(r.summary.get("written", "")))
        out.print(table)
        return
    result = call(undo_mod.undo, store, run, force=force)
    for _, why in result.refused:
        err.print(f"not restored: {why}", markup=False, highlight=False)
    out.print(f"run {result.run_id}: restored {len(result.restored)} files"
              + (f", {len(result.refused)} refused" if result.refused else ""))
    report = Report()
    report.add_failures(len(result.refused))
    report.exit()
