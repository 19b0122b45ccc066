"""``djstruct analyze FILE...``: analyse files and print a summary or JSON lines."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from rich.table import Table

from djstruct.cli.common import Report, call, detector_choice, err, fmt_time, model_option, out
from djstruct.errors import DjstructError
from djstruct.jsonout import dumps
from djstruct.types import Analysis


@click.command("analyze")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input line on stdout.")
@click.option("--detector", "detector_name", default=None,
              help="Detector: ml (default, the trained model) or dsp (no model).")
@model_option
@click.option("--max-duration", type=float, default=1800.0, show_default=True,
              help="Refuse files longer than this many seconds (DJ mixes).")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also draw each analysis as a PNG (sections, bars, drops, energy, planned cues); with several "
                   "files, PATH gets each file's name appended.")
def analyze(files: tuple[Path, ...], as_json: bool, detector_name: str | None, model_name: str | None,
            max_duration: float, plot_path: Path | None) -> None:
    """Analyse audio FILES: tempo, beats, downbeats, sections, drops and energy."""
    from djstruct.detect.base import analyze_file, get_detector

    name, options = detector_choice(detector_name, model_name)
    detector = call(get_detector, name, **options)
    report = Report()
    for path in files:
        try:
            result = analyze_file(path, detector, max_duration_s=max_duration)
        except DjstructError as e:
            report.failed(str(e), show=not as_json)
            if as_json:
                print(dumps({"path": str(path), "error": str(e)}), flush=True)
            continue
        if as_json:
            print(dumps(result.to_dict(), ensure_ascii=False), flush=True)
        else:
            render_summary(result)
        if plot_path is not None and not _plot(result, path, plot_path, len(files) > 1):
            report.add_failures(1)
    report.exit()


def render_summary(a: Analysis) -> None:
    down = np.asarray(a.downbeats)
    bpm = "-" if a.bpm is None else f"{a.bpm:.2f}"
    out.print(f"[bold]{a.path}[/]  {fmt_time(a.duration_s)}  BPM {bpm}  "
              f"{len(a.beats)} beats  {len(a.sections)} sections  detector {a.detector}", markup=True)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("#", "start", "bar", "length", "label"):
        table.add_column(col, justify="right" if col != "label" else "left")
    i = 0
    for s, new_part in a.marked_parts():  # the sections, and the parts a change inside one starts
        i += not new_part
        bar = "-" if len(down) == 0 else str(int(np.argmin(np.abs(down - s.start_s))) + 1)
        bars = (s.end_s - s.start_s) / (4 * 60.0 / a.bpm) if a.bpm else 0.0
        table.add_row("" if new_part else str(i), fmt_time(s.start_s), bar, f"{bars:.0f} bars" if a.bpm else "-",
                      f"{s.label}, new part" if new_part else s.label)
    out.print(table)
    if a.drops:
        out.print("drops: " + ", ".join(fmt_time(d) for d in a.drops))
    out.print()


def _plot(result: Analysis, audio: Path, plot_path: Path, several: bool) -> bool:
    """Draw ``result`` as a PNG (``plot_path``, or ``<stem>-<file stem>.png`` for several files)."""
    from djstruct.report.draw import plot_analysis

    target = plot_path.with_name(f"{plot_path.stem}-{audio.stem}{plot_path.suffix or '.png'}") if several \
        else plot_path
    try:
        plot_analysis(result, target, audio)
    except (DjstructError, OSError) as e:
        err.print(f"plot failed: {e}", markup=False)
        return False
    err.print(f"plot: {target}", markup=False, highlight=False)
    return True
