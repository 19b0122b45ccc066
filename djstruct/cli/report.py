"""``djstruct report [LIBRARY]``: a static HTML report of what djstruct found, to check before a
writeback."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from djstruct.cli.common import Report, any_source, err, fail, library_options, make_sources, out
from djstruct.errors import DjstructError

_STAGES = {"reading": "reading the store", "pages": "drawing tracks"}


@click.command("report")
@library_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("djstruct-report"),
              show_default=True, help="Folder the report is written to (index.html + tracks/).")
@click.option("--open", "open_browser", is_flag=True, help="Open index.html in the web browser when done.")
@click.option("--layout", default="default", show_default=True,
              help="Cue layout the planned cues come from: a preset (default, drops, minimal) or a TOML file.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Processes decoding audio for the waveforms.")
def report(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, out_dir, open_browser, layout,
           workers) -> None:  # type: ignore[no-untyped-def]
    """Write an HTML report (library table + a page per track with waveform, sections, cues and a
    player) from the analysis store. With no library given: every library the store knows."""
    from djstruct.report.build import ReportConfig, build_report

    given = any_source(folders, rekordbox_xml, rekordbox_db, traktor_nml)
    sources = tuple(make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)) if given else ()
    cfg = ReportConfig(sources=sources, store_path=store, out_dir=out_dir, layout=layout, workers=workers)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(_STAGES["reading"], total=None)

        def on_progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=_STAGES.get(stage, stage), completed=done, total=total)

        try:
            result = build_report(cfg, on_progress)
        except DjstructError as e:
            bar.stop()
            fail(str(e), e.exit_code)

    report = Report()
    for line in result.library_errors:
        report.failed(line, prefix="library")
    report.add_failures(result.failed)
    extras = [f"{n} {what}" for n, what in ((result.failed, "failed"), (result.pending, "not analysed"),
                                            (result.missing, "missing"), (result.no_waveform, "without audio"))
              if n]
    out.print(f"[bold]report[/]: {result.tracks} tracks, {result.pages} pages"
              + (f" ({', '.join(extras)})" if extras else "")
              + f", {result.size_bytes / 1e6:.1f} MB in {result.seconds:.1f} s → {escape(str(result.index.resolve()))}")
    if open_browser:
        import webbrowser

        webbrowser.open(result.index.resolve().as_uri())
    report.exit()
