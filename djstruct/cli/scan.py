"""``djstruct scan``: analyse a whole library incrementally, safe to run from cron."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click
from rich.progress import TextColumn
from rich.table import Table

from djstruct.cli.common import (
    Report,
    call,
    detector_choice,
    library_options,
    make_sources,
    model_option,
    out,
    start_counting,
    track_progress,
)
from djstruct.constants import MAX_DURATION_S


@click.command("scan")
@library_options
@click.option("--detector", "detector_name", default=None,
              help="Detector: ml (default, the trained model) or dsp (no model).")
@model_option
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Worker processes for decoding (and per-track detection).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda (model detectors).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=8, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Analyse at most this many tracks.")
@click.option("--force", is_flag=True, help="Re-analyse tracks that are up to date.")
@click.option("--max-duration", type=click.FloatRange(min=1.0), default=MAX_DURATION_S, show_default=True,
              help="Longest track analysed, in seconds (longer files, e.g. DJ mixes, are reported and skipped).")
@click.option("--quiet", "-q", is_flag=True, help="Print only failures (for cron).")
@click.option("--log-file", type=click.Path(path_type=Path), default=None, help="Also log to this file.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this machine's process pool; ray: a Ray cluster (pip install 'djstruct[ray]').")
@click.option("--address", default=None, help="--engine ray: the cluster to join (default: a local Ray runtime).")
@click.option("--parquet", type=click.Path(path_type=Path), default=None,
              help="--engine ray: the Parquet output folder (default: next to the store, <store>.parquet).")
def scan(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, detector_name, model_name, workers, device,
         batch_size, limit, force, max_duration, quiet, log_file, engine, address,
         parquet) -> None:  # type: ignore[no-untyped-def]
    """Read a DJ library and analyse every new or changed track into the analysis store.

    Exit codes: 0 all fine, 1 some tracks failed (listed), 2 usage error, 3 another run holds
    the lock."""
    from djstruct.detect.base import default_detector_name
    from djstruct.scan import ScanConfig, ScanEvent, run_scan

    root = logging.getLogger("djstruct")
    if quiet:  # only failures reach the terminal (they are logged as errors)
        for h in root.handlers:
            h.setLevel(logging.ERROR)
    if log_file is not None:
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.setLevel(logging.INFO)
        root.addHandler(fh)
        root.setLevel(min(root.level, logging.INFO))
        ctx = click.get_current_context()
        ctx.call_on_close(lambda: (root.removeHandler(fh), fh.close()))
    sources = make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)
    detector_name, options = detector_choice(detector_name, model_name)
    if device != "auto":
        options["device"] = device
    if (detector_name or default_detector_name()) == "ml":
        options["batch_size"] = batch_size
    cfg = ScanConfig(tuple(sources), store, detector_name, options, workers, batch_size, limit, force, max_duration)
    log = logging.getLogger("djstruct.scan")

    with track_progress(TextColumn("{task.fields[rate]}"), TextColumn("[red]{task.fields[failed]}"),
                        disable=quiet) as bar:
        task = bar.add_task("reading library", total=None, rate="", failed="")
        n_failed = 0

        def on_event(e: ScanEvent) -> None:
            nonlocal n_failed
            if e.kind == "planned":
                start_counting(bar, task, e.total, "analysing")
            elif e.kind in ("done", "failed"):
                if e.kind == "failed":
                    n_failed += 1
                    log.error("failed: %s", e.error)
                t0 = bar.tasks[0].fields.get("t0")
                rate = e.done / max(time.monotonic() - t0, 1e-9) if t0 is not None else 0.0
                bar.update(task, completed=e.done, rate=f"{rate:.2f} tracks/s",
                           failed=f"{n_failed} failed" if n_failed else "")
            elif e.kind == "warning":
                log.warning("%s: %s", e.path, e.error)
            elif e.kind == "library-error":
                log.error("library: %s", e.error)

        if engine == "local" and (address or parquet):
            raise click.UsageError("--address and --parquet go with --engine ray")
        if engine == "ray":
            from djstruct.scan_ray import RayOptions, run_scan_ray

            result = call(run_scan_ray, cfg, RayOptions(address=address, output=parquet), on_event)
        else:
            result = call(run_scan, cfg, on_event)

    log.info("scan: %d entries, %d analysed, %d up to date, %d failed in %.1f s", result.tracks_seen,
             result.analysed, result.up_to_date, len(result.failed), result.seconds)
    if not quiet:
        table = Table(title="scan", show_header=False, box=None)
        table.add_row("library entries", str(result.tracks_seen))
        table.add_row("analysed now", str(result.analysed))
        table.add_row("up to date", str(result.up_to_date))
        table.add_row("failed", str(len(result.failed)))
        table.add_row("library errors", str(len(result.library_errors)))
        if result.warnings:
            table.add_row("grid disagreements", f"{len(result.warnings)} (no cues on them by default: see the "
                                                "warnings above, or writeback --grid library|own)")
        table.add_row("time", f"{result.seconds:.1f} s")
        out.print(table)
    report = Report()
    report.add_failures(len(result.failed) + len(result.library_errors))
    report.exit()
