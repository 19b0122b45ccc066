"""``djstruct library SOURCE``: what djstruct sees in a library, without analysing anything."""

from __future__ import annotations

import click
from rich.table import Table

from djstruct.cli.common import Report, fmt_time, make_sources, out, source_options
from djstruct.errors import LibraryError
from djstruct.jsonout import dumps


@click.command("library")
@source_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track and line.")
def library(folders, rekordbox_xml, rekordbox_db, crate, as_json) -> None:  # type: ignore[no-untyped-def]
    """List the tracks of a library with their grid, cues and phrases. Reads only."""
    from djstruct.library import iter_tracks

    report = Report()
    table = Table(header_style="bold")
    for col in ("track", "exists", "length", "BPM", "grid", "hot", "memory", "phrases"):
        table.add_column(col, justify="left" if col == "track" else "right")
    for src in make_sources(folders, rekordbox_xml, rekordbox_db, crate):
        try:
            for t in iter_tracks(src):
                if isinstance(t, LibraryError):
                    report.failed(str(t), prefix="library")
                    continue
                if as_json:
                    print(dumps(t.to_dict(), ensure_ascii=False), flush=True)
                    continue
                hot = sum(1 for c in t.cues if c.kind == "hot")
                table.add_row(
                    t.title or t.path.name, "yes" if t.exists else "[red]no[/]",
                    "-" if t.duration_s is None else fmt_time(t.duration_s).split(".")[0],
                    "-" if t.bpm is None else f"{t.bpm:.2f}",
                    "-" if t.grid is None else f"{len(t.grid.markers)} markers",
                    str(hot), str(len(t.cues) - hot), "-" if t.phrases is None else str(len(t.phrases)),
                )
        except LibraryError as e:
            report.failed(str(e), prefix="library")
    if not as_json:
        out.print(table)
    report.exit()
