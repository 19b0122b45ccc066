"""``djstruct report [LIBRARY]``: a static HTML report of what djstruct found, to check before a
writeback."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from djstruct.cli.common import (
    Report,
    any_source,
    err,
    fail,
    library_options,
    make_sources,
    out,
    start_counting,
    track_progress,
)
from djstruct.cues.grid import GRID_CHOICES
from djstruct.errors import DjstructError

_STAGES = {"reading": "reading the store", "pages": "drawing tracks"}


@click.command("report")
@library_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("djstruct-report"),
              show_default=True, help="Folder the report is written to (index.html + tracks/).")
@click.option("--open", "open_browser", is_flag=True, help="Open index.html in the web browser when done.")
@click.option("--layout", default="default", show_default=True,
              help="Cue layout the planned cues come from: a preset (default, drops, minimal) or a TOML file.")
@click.option("--grid", type=click.Choice(GRID_CHOICES), default="auto", show_default=True,
              help="The grid planned cues snap to, as in writeback: auto skips tracks whose library grid disagrees "
                   "with djstruct's tempo; library or own chooses.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Processes decoding audio for the waveforms.")
def report(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, out_dir, open_browser, layout, grid,
           workers) -> None:  # type: ignore[no-untyped-def]
    """Write an HTML report (library table + a page per track with waveform, sections, cues and a
    player) from the analysis store. With no library given: every library the store knows."""
    from djstruct.report.build import ReportConfig, build_report

    given = any_source(folders, rekordbox_xml, rekordbox_db, traktor_nml)
    sources = tuple(make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)) if given else ()
    cfg = ReportConfig(sources=sources, store_path=store, out_dir=out_dir, layout=layout, workers=workers,
                       grid=grid)

    with track_progress() as bar:
        task = bar.add_task(_STAGES["reading"], total=None)
        stages: set[str] = set()

        def on_progress(stage: str, done: int, total: int | None) -> None:
            if stage not in stages and total is not None:  # a new stage: the time left counts from here
                stages.add(stage)
                start_counting(bar, task, total, _STAGES.get(stage, stage))
            bar.update(task, description=_STAGES.get(stage, stage), completed=done, total=total)

        try:
            result = build_report(cfg, on_progress)
        except DjstructError as e:
            bar.stop()
            fail(str(e), e.exit_code)

    report = Report()
    for line in result.library_errors:
        report.failed(line, prefix="library")
    report.add_failures(result.failed + result.undecodable)
    extras = [f"{n} {what}" for n, what in ((result.failed, "failed"), (result.pending, "not analysed"),
                                            (result.missing, "missing"), (result.no_waveform, "without a waveform"),
                                            (result.grid_warnings, "with a disagreeing grid")) if n]
    out.print(f"[bold]report[/]: {result.tracks} tracks, {result.pages} pages"
              + (f" ({', '.join(extras)})" if extras else "")
              + f", {result.size_bytes / 1e6:.1f} MB in {result.seconds:.1f} s → {escape(str(result.index.resolve()))}")
    if result.undecodable:
        err.print(f"[yellow]warning:[/] {result.undecodable} pages have no waveform of their audio: it could not be "
                  "decoded (see the warnings above); they show the stored energy instead", highlight=False)
    if result.grid_warnings:
        what = ("no cues are planned on them (--grid library|own)" if grid == "auto"
                else f"cues are planned on the {'library' if grid == 'library' else 'own'} grid anyway")
        err.print(f"[yellow]warning:[/] {result.grid_warnings} tracks: the library's beat grid disagrees with "
                  f"djstruct's tempo; {what}; their pages say so", highlight=False)
    if open_browser:
        import webbrowser

        webbrowser.open(result.index.resolve().as_uri())
    report.exit()
