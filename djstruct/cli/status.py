"""``djstruct status``: what the analysis store knows."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from djstruct.cli.common import call, out
from djstruct.jsonout import dumps


@click.command("status")
@click.option("--store", "store_path", type=click.Path(path_type=Path), default=None, help="Analysis store.")
@click.option("--json", "as_json", is_flag=True)
def status(store_path: Path | None, as_json: bool) -> None:
    """Tracks, analysed, stale, failed and pending, by library."""
    from djstruct.store import read_status

    path, st = call(read_status, store_path)
    if as_json:
        print(dumps(asdict(st), default=str, indent=1))
        return
    table = Table(title=f"store {path}", header_style="bold")
    for col in ("library", "tracks", "analysed", "stale", "failed", "pending"):
        table.add_column(col, justify="left" if col == "library" else "right")
    for lib in st.libraries:
        table.add_row(lib.library, str(lib.tracks), str(lib.analysed), str(lib.stale), str(lib.failed),
                      str(lib.pending))
    out.print(table)
    if st.total.stale:
        out.print(f"{st.total.stale} stale: the audio changed since the scan (or the file is gone); run djstruct scan "
                  "to analyse them again")
