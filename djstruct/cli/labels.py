"""``djstruct labels check|review``: the DJ's own cues as training labels, and their likely errors."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click
from rich.table import Table

from djstruct.cli.common import EXIT_OK, EXIT_USAGE, call, err, fail, fmt_time, library_options, make_sources, out
from djstruct.errors import ConfigError
from djstruct.safe_write import atomic_write_text


@click.group("labels")
def labels() -> None:
    """Check the cues in a library as training labels (never modifies the library)."""


@labels.command("check")
@library_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per suspected label per line.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Also write the issues to this CSV file.")
@click.option("--tolerance", type=float, default=0.05, show_default=True, help="Off-grid tolerance in seconds.")
def check(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, store, as_json, csv_path, tolerance) -> None:  # type: ignore[no-untyped-def]
    """Harvest cues, tier tracks, and rank likely label errors (confident learning)."""
    from djstruct.train.check import check_library

    sources = make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)
    result = call(check_library, sources, store, tolerance_s=tolerance)
    rows = [i.to_dict() for i in sorted(result.issues, key=lambda i: -i.score)]
    if csv_path is not None:
        _write_csv(csv_path, rows)
    if as_json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        sys.exit(EXIT_OK)
    tiers = result.tier_counts()
    out.print(f"{len(result.checks)} tracks with cues and a grid (T1 {tiers[1]}, T2 {tiers[2]}, T3 {tiers[3]}); "
              f"{len(result.skipped)} skipped; {len(rows)} suspected label errors"
              + (f" (CSV: {csv_path})" if csv_path else ""))
    table = Table(header_style="bold")
    for col in ("track", "cue", "issue", "suggested", "score"):
        table.add_column(col)
    for r in rows[:200]:
        table.add_row(Path(r["path"]).name, "-" if r["cue_time"] is None else fmt_time(r["cue_time"]), r["issue"],
                      "-" if r["suggested_time"] is None else fmt_time(r["suggested_time"]), f"{r['score']:.2f}")
    out.print(table)
    reasons: dict[str, int] = {}
    for s in result.skipped:
        reasons[s.reason] = reasons.get(s.reason, 0) + 1
    for reason, n in sorted(reasons.items(), key=lambda x: -x[1]):
        err.print(f"skipped {n} tracks: {reason}", markup=False, highlight=False)


def _write_csv(path: Path, rows: list[dict]) -> None:  # type: ignore[type-arg]
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=["path", "cue_time", "issue", "suggested_time", "score"])
    w.writeheader()
    w.writerows(rows)
    call(atomic_write_text, path, buf.getvalue(), error=ConfigError)


@labels.command("review")
@click.argument("tracks", nargs=-1, type=click.Path(path_type=Path))
@click.option("--remove", is_flag=True, help="Unmark the tracks.")
def review(tracks: tuple[Path, ...], remove: bool) -> None:
    """Mark TRACKS (audio files) as reviewed: their cues become tier-1 (verified) labels."""
    from djstruct.train.tiers import load_reviewed, save_reviewed

    if not tracks:
        fail("name the audio files whose cues you have checked", EXIT_USAGE)
    keys = load_reviewed()
    for t in tracks:
        (keys.discard if remove else keys.add)(str(t.expanduser().resolve()))
    path = save_reviewed(keys)
    out.print(f"{len(keys)} tracks marked as reviewed ({path})")
