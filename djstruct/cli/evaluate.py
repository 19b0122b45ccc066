"""``djstruct eval TRUTH_DIR``: score a detector against ground-truth JSON files."""

from __future__ import annotations

import json
import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from djstruct.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    call,
    detector_choice,
    err,
    fail,
    library_options,
    make_sources,
    model_option,
    out,
)

COLUMNS = [
    ("bound F.5", "boundary_f05"), ("bound F3", "boundary_f3"), ("beat F", "beat_f"),
    ("down F", "downbeat_f"), ("BPM acc", "bpm_acc1"), ("BPM acc2", "bpm_acc2"),
    ("label", "label_acc"), ("drop F", "drop_f"),
]


@click.command("eval")
@library_options
@click.option("--from-library", "from_library", is_flag=True,
              help="Compare the cue plan with the DJ's own cues in the library instead (FOLDER... = library).")
@click.option("--layout", default="default", show_default=True, help="Cue layout for --from-library.")
@click.option("--detector", "detector_name", default=None, help="Detector to evaluate: ml (default) or dsp.")
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def eval_cmd(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, from_library, layout, detector_name,
             model_name, as_json) -> None:  # type: ignore[no-untyped-def]
    """Analyse the audio named by each truth JSON in TRUTH_DIR (the first argument) and report
    boundary, beat, downbeat, tempo, label and drop scores per track and overall.

    With --from-library: how well djstruct's cues agree with the cues the DJ placed (F-measure at
    +-1 beat and +-0.5 s, per genre, per crate/playlist), from the analyses in the store."""
    if from_library:
        _from_library(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, layout, as_json)
        return
    if len(folders) != 1:
        fail("give one folder of ground-truth JSON files (or --from-library with a library)", EXIT_USAGE)
    truth_dir = folders[0]
    from djstruct.detect.base import analyze_file, get_detector
    from djstruct.evaluate import evaluate_dir

    name, options = detector_choice(detector_name, model_name)
    detector = call(get_detector, name, **options)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("evaluating", total=None)

        def tick(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        report = call(evaluate_dir, truth_dir, lambda p: analyze_file(p, detector), detector.name, tick)
    if as_json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        table = Table(title=f"detector {report.detector}", header_style="bold")
        table.add_column("track")
        for title, _ in COLUMNS:
            table.add_column(title, justify="right")
        for t in report.tracks:
            if t.error:
                table.add_row(t.name, *(["-"] * (len(COLUMNS) - 1)), f"[red]{t.error}[/]")
            else:
                table.add_row(t.name, *(f"{t.metrics[k]:.3f}" if k in t.metrics else "-" for _, k in COLUMNS))
        overall = report.overall()
        table.add_row("[bold]overall[/]", *(f"[bold]{overall[k]:.3f}[/]" if k in overall else "-" for _, k in COLUMNS),
                      end_section=True)
        out.print(table)
    sys.exit(EXIT_SOME_FAILED if report.failed else EXIT_OK)


def _from_library(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, layout, as_json) -> None:  # type: ignore[no-untyped-def]
    from djstruct.train.agreement import library_agreement

    sources = make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)
    ag = call(library_agreement, sources, store, layout)
    if as_json:
        print(json.dumps({"groups": ag.groups, "tracks": ag.tracks}, indent=1))
        return
    table = Table(title="agreement with your cues", header_style="bold")
    for col in ("group", "tracks", "F (1 beat)", "F (0.5 s)"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for g, m in ag.groups.items():
        table.add_row(g, f"{m['tracks']:.0f}", f"{m['f_beat']:.3f}", f"{m['f_05']:.3f}")
    out.print(table)
