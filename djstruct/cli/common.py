"""Shared CLI plumbing: consoles, logging, exit codes, error rendering."""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
PIPED_WIDTH = 240  # columns when the output goes to a pipe or a file (rich would cut tables at 80)


class _Console(Console):
    """A rich console that, writing to a pipe or a file, is as wide as :data:`PIPED_WIDTH` (unless
    ``COLUMNS`` says otherwise) instead of 80 columns or the terminal's width."""

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in self._environ:
            return ConsoleDimensions(PIPED_WIDTH, dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


class EtaColumn(ProgressColumn):
    """Time left from the average pace since the count began (``task.fields["t0"]``, set by
    :func:`start_counting`): elapsed / done x left. Honest from the first finished item, unlike an
    estimate from the last few seconds, which a burst of finished items sends to zero."""

    def render(self, task: Task) -> Text:
        t0 = task.fields.get("t0")
        if task.total is None or t0 is None or task.completed <= 0:
            return Text("time left: estimating", style="progress.remaining")
        left = (time.monotonic() - t0) / task.completed * max(task.total - task.completed, 0)
        m, s = divmod(int(round(left)), 60)
        return Text(f"{m}:{s:02d} left", style="progress.remaining")


def track_progress(*columns: ProgressColumn | str, disable: bool = False) -> Progress:
    """The progress bar of batch commands on stderr: description, bar, n/total, ``columns``, time left."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), *columns, EtaColumn(),
                    console=err, transient=True, disable=disable)


def start_counting(bar: Progress, task: Any, total: int, description: str) -> None:
    """(Re)start ``task`` at 0 of ``total``: the time left counts from now."""
    bar.update(task, total=total, completed=0, description=description, t0=time.monotonic())


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """One plain line per record on whatever ``sys.stderr`` is now (grep-able in cron logs,
    never wrapped)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    root = logging.getLogger("djstruct")
    root.setLevel(level)
    for h in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(h)
    h = _StderrHandler()
    h.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(h)
    root.propagate = False


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print one clean error line and exit."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


def fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    m, s = divmod(max(seconds, 0.0), 60.0)
    return f"{int(m)}:{s:06.3f}"


STORE_HELP = ("The analysis store: where djstruct keeps what it found in each track and the journal of what it "
              "wrote, so undo works (default: ~/.local/share/djstruct/store.sqlite on Linux, or $DJSTRUCT_STORE).")


def library_options(f):  # type: ignore[no-untyped-def]
    """The one command-line shape of every command that takes a library and the store:
    ``[FOLDER...] [--rekordbox-xml FILE] [--rekordbox-db [PATH]] [--traktor-nml FILE] [--crate NAME]
    [--store PATH]``."""
    import click

    f = click.option("--store", "store", type=click.Path(path_type=Path), default=None, help=STORE_HELP)(f)
    return source_options(f)


def source_options(f):  # type: ignore[no-untyped-def]
    """The library options without ``--store`` (for commands that never touch the store)."""
    import click

    f = click.option("--crate", default=None, help="Only this Serato crate / Rekordbox or Traktor playlist.")(f)
    f = click.option("--traktor-nml", "traktor_nml", type=click.Path(path_type=Path), default=None,
                     help="A Traktor Pro 3/4 collection (collection.nml).")(f)
    f = click.option("--rekordbox-db", "rekordbox_db", is_flag=False, flag_value="", default=None,
                     metavar="[PATH]", help="A Rekordbox 6/7 master.db (default location when no PATH).")(f)
    f = click.option("--rekordbox-xml", "rekordbox_xml", type=click.Path(path_type=Path), default=None,
                     help="A Rekordbox XML export (File > Export Collection in xml format).")(f)
    f = click.argument("folders", nargs=-1, type=click.Path(path_type=Path))(f)
    return f


def make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml=None):  # type: ignore[no-untyped-def]
    """LibrarySources from the shared options; usage errors end the command with exit code 2."""
    from djstruct.library import sources_from_options

    return call(sources_from_options, folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)


def any_source(folders, rekordbox_xml, rekordbox_db, traktor_nml) -> bool:  # type: ignore[no-untyped-def]
    """True when any library option was given."""
    return bool(folders) or any(x is not None for x in (rekordbox_xml, rekordbox_db, traktor_nml))


def call(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run a library call; a djstruct error ends the command with one line and the error's
    ``exit_code`` (3 locked, 2 usage/configuration/model, 1 anything else). The one mapping."""
    from djstruct.errors import DjstructError

    try:
        return fn(*args, **kwargs)
    except DjstructError as e:
        fail(str(e), e.exit_code)


class Report:
    """What a command did, and so its exit code (as black's ``Report``): 0 when nothing failed,
    1 when a track or a library entry failed. Usage errors never get this far (:func:`fail`)."""

    def __init__(self) -> None:
        self.done = 0
        self.failures: list[str] = []

    def ok(self, n: int = 1) -> None:
        self.done += n

    def failed(self, message: str, *, show: bool = True, prefix: str = "failed") -> None:
        self.failures.append(message)
        if show:
            err.print(f"{prefix}: {message}", markup=False, highlight=False)

    def add_failures(self, n: int) -> None:
        self.failures += [""] * n

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failures else EXIT_OK

    def exit(self) -> None:
        sys.exit(self.exit_code)


def model_option(f):  # type: ignore[no-untyped-def]
    """``--model NAME``: a trained model by name (implies the ``ml`` detector)."""
    import click

    return click.option("--model", "model_name", default=None,
                        help="A trained model (see `djstruct models list`); implies --detector ml.")(f)


def detector_choice(detector_name: str | None, model_name: str | None) -> tuple[str | None, dict[str, object]]:
    """(detector name, options) from ``--detector`` and ``--model``."""
    if model_name is None:
        return detector_name, {}
    if detector_name not in (None, "ml"):
        fail(f"--model needs the ml detector, not {detector_name!r}", EXIT_USAGE)
    return "ml", {"model": model_name}
