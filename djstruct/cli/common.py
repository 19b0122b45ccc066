"""Shared CLI plumbing: consoles, logging, exit codes, error rendering."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    root = logging.getLogger("djstruct")
    root.setLevel(level)
    if not any(isinstance(h, RichHandler) for h in root.handlers):
        h = RichHandler(console=err, show_time=False, show_path=False, markup=False)
        h.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(h)
    root.propagate = False


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print one clean error line and exit."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


def fmt_time(seconds: float) -> str:
    m, s = divmod(max(seconds, 0.0), 60.0)
    return f"{int(m)}:{s:06.3f}"
