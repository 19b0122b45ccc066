"""CLI output plumbing: consoles as wide as their content when piped, a time left that is honest."""

from __future__ import annotations

import io
import time

from rich.progress import Progress
from rich.table import Table

from djstruct.cli.common import PIPED_WIDTH, EtaColumn, _Console, start_counting


def test_a_piped_console_does_not_cut_tables_at_80_columns() -> None:
    buf = io.StringIO()
    con = _Console(file=buf, highlight=False, soft_wrap=True)
    assert not con.is_terminal and con.width == PIPED_WIDTH
    table = Table(box=None)
    for col in ("", "cue", "time", "name", "why"):
        table.add_column(col)
    long_reason = "drop (slot A is taken by your cue \"Vocal chop from the second breakdown\")"
    table.add_row("add", "hot B", "1:02.500", "Drop 1", long_reason)
    con.print(table)
    lines = buf.getvalue().splitlines()
    assert any(line.rstrip().endswith(long_reason) for line in lines) and max(map(len, lines)) > 80
    fixed = _Console(file=io.StringIO(), width=60)
    assert fixed.width == 60  # an explicit width still wins
    assert _Console(file=io.StringIO(), _environ={"COLUMNS": "100"}).width == 100


def test_time_left_is_the_average_pace_since_the_count_began() -> None:
    bar = Progress(disable=True)
    task = bar.add_task("reading library", total=None)
    col = EtaColumn()
    assert "estimating" in col.render(bar.tasks[0]).plain
    start_counting(bar, task, 10, "analysing")
    bar.update(task, t0=time.monotonic() - 20.0)  # 20 s in ...
    assert "estimating" in col.render(bar.tasks[0]).plain  # ... and nothing done yet
    bar.update(task, completed=4)  # 4 of 10 in 20 s: 5 s each, 6 left
    assert col.render(bar.tasks[0]).plain == "0:30 left"
    bar.update(task, completed=10)
    assert col.render(bar.tasks[0]).plain == "0:00 left"
