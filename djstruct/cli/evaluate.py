"""``djstruct eval TRUTH_DIR``: score a detector against ground-truth JSON files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from djstruct.cli.common import EXIT_OK, EXIT_SOME_FAILED, err, fail, out
from djstruct.errors import DjstructError

COLUMNS = [
    ("bound F.5", "boundary_f05"), ("bound F3", "boundary_f3"), ("beat F", "beat_f"),
    ("down F", "downbeat_f"), ("BPM acc", "bpm_acc1"), ("BPM acc2", "bpm_acc2"),
    ("label", "label_acc"), ("drop F", "drop_f"),
]


@click.command("eval")
@click.argument("truth_dir", type=click.Path(path_type=Path))
@click.option("--detector", "detector_name", default=None, help="Detector to evaluate.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def eval_cmd(truth_dir: Path, detector_name: str | None, as_json: bool) -> None:
    """Analyse the audio named by each truth JSON in TRUTH_DIR and report boundary, beat,
    downbeat, tempo, label and drop scores per track and overall."""
    from djstruct.detect.base import analyze_file, get_detector
    from djstruct.evaluate import evaluate_dir

    try:
        detector = get_detector(detector_name)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task("evaluating", total=None)

            def tick(done: int, total: int, name: str) -> None:
                bar.update(task, completed=done, total=total, description=name)

            report = evaluate_dir(truth_dir, lambda p: analyze_file(p, detector), detector.name, tick)
    except DjstructError as e:
        fail(str(e))
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
                table.add_row(t.name, *(f"{t.metrics[k]:.3f}" for _, k in COLUMNS))
        overall = report.overall()
        table.add_row("[bold]overall[/]", *(f"[bold]{overall[k]:.3f}[/]" for _, k in COLUMNS), end_section=True)
        out.print(table)
    sys.exit(EXIT_SOME_FAILED if report.failed else EXIT_OK)
