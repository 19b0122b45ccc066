"""Worker process pools, the same for every batch djstruct runs (scan, report, synth).

- Workers start from a fork server (``spawn`` where there is none) that imported ``preload``
  once, so they start fast and nothing of the parent (threads, an open store) leaks into them.
- The server is started from the folder that holds the installed ``djstruct`` package, not the
  caller's working directory: a ``djstruct/`` folder there (a clone of the repository, say) would
  otherwise shadow the installed package in the workers (``python -c`` puts the working
  directory first on ``sys.path``).
- Each worker has one BLAS/OpenMP thread (the pool is the parallelism) and exits by itself once
  the process that started the pool is gone (a ``kill -9`` of the parent leaves no workers behind).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import djstruct

PARENT_POLL_S = 1.0
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def package_root() -> Path:
    """The folder holding the ``djstruct`` package this process imported."""

    return Path(djstruct.__file__).resolve().parents[1]


@contextlib.contextmanager
def _cwd(folder: Path) -> Iterator[None]:
    here = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker (without cleanup: the parent owns everything) once ``parent_pid`` is gone."""
    ppid = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # a new process with that pid and another owner: ours is gone
                os._exit(1)
            if os.getppid() != ppid and os.getppid() == 1:
                os._exit(1)

    threading.Thread(target=loop, name="djstruct-parent-watch", daemon=True).start()


def _init(parent_pid: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    _watch_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def process_pool(workers: int, *, preload: Sequence[str] = (), initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (see the module docstring), started now (from the package's
    folder), so their start-up overlaps the caller's work."""
    ctx = get_context("forkserver" if "forkserver" in get_all_start_methods() else "spawn")
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["djstruct", *preload])
    pool = ProcessPoolExecutor(max(1, workers), mp_context=ctx, initializer=_init,
                               initargs=(os.getpid(), initializer, tuple(initargs)))
    with _cwd(package_root()):  # submit spawns the processes (and the fork server with the first) right away
        for _ in range(max(1, workers)):
            pool.submit(_noop)
    return pool


def _noop() -> None:
    return None
