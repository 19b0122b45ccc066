"""``djstruct library SOURCE``: what djstruct sees in a library, without analysing anything."""

from __future__ import annotations

import json
from collections import Counter

import click
from rich.table import Table

from djstruct.cli.common import Report, err, fmt_time, make_sources, out, source_options
from djstruct.errors import LibraryError


@click.command("library")
@source_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track and line.")
def library(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, as_json) -> None:  # type: ignore[no-untyped-def]
    """List the tracks of a library with their grid, cues and phrases. Reads only.

    Streaming entries (SoundCloud, Beatport, TIDAL ...) are listed too, with "exists": false and
    their service; they are never analysed or written, and counted in the summary line."""
    from djstruct.library import is_streaming, iter_tracks

    report = Report()
    table = Table(header_style="bold")
    for col in ("track", "exists", "length", "BPM", "grid", "hot", "memory", "phrases"):
        table.add_column(col, justify="left" if col == "track" else "right")
    n_tracks = 0
    streaming: Counter[str] = Counter()
    for src in make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml):
        try:
            for t in iter_tracks(src, include_streaming=True):
                if isinstance(t, LibraryError):
                    report.failed(str(t), prefix="library")
                    continue
                n_tracks += 1
                service = str(t.extras["streaming"]) if is_streaming(t) else None
                if service:
                    streaming[service] += 1
                if as_json:
                    d = t.to_dict()
                    d["exists"] = t.exists and service is None
                    d["streaming"] = service
                    print(json.dumps(d, ensure_ascii=False), flush=True)
                    continue
                hot = sum(1 for c in t.cues if c.kind == "hot")
                table.add_row(
                    t.title or t.path.name,
                    f"[yellow]{service}[/]" if service else ("yes" if t.exists else "[red]no[/]"),
                    "-" if t.duration_s is None else fmt_time(t.duration_s).split(".")[0],
                    "-" if t.bpm is None else f"{t.bpm:.2f}",
                    "-" if t.grid is None else f"{len(t.grid.markers)} markers",
                    str(hot), str(len(t.cues) - hot), "-" if t.phrases is None else str(len(t.phrases)),
                )
        except LibraryError as e:
            report.failed(str(e), prefix="library")
    if not as_json:
        out.print(table)
    summary = f"{n_tracks} tracks"
    if streaming:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(streaming.items()))
        summary += f", {sum(streaming.values())} of them streaming ({kinds}): listed, never analysed or written"
    (err if as_json else out).print(summary, markup=False, highlight=False)
    report.exit()
