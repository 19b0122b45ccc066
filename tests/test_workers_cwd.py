"""Worker processes never depend on the working directory: ``scan`` and ``report`` run from a folder
that holds a ``djstruct/`` directory (the clone of the repository, or a package of that name) work
as anywhere else, with one worker or two; decoder messages come back with the file named."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from djstruct.audio.chatter import decoder_messages, log_messages


def _entry_point() -> Path:
    exe = Path(sys.executable).with_name("djstruct")
    if not exe.is_file():
        pytest.skip("the djstruct console script is not installed next to this python")
    return exe


@pytest.mark.parametrize("shadow", ["clone", "package"])
def test_scan_and_report_from_a_folder_holding_djstruct(short_corpus: Path, tmp_path: Path, shadow: str) -> None:
    here = tmp_path / "here"
    fake = here / "djstruct"
    fake.mkdir(parents=True)
    if shadow == "clone":  # the folder a `git clone` made: no __init__.py, a namespace package to Python
        (fake / "README.md").write_text("a clone\n", encoding="utf-8")
    else:
        (fake / "__init__.py").write_text("raise ImportError('the djstruct/ of the working directory')\n",
                                          encoding="utf-8")
    lib = tmp_path / "Music"
    lib.mkdir()
    audio = sorted(p for p in short_corpus.iterdir() if p.suffix != ".json")
    for i, p in enumerate(audio + audio[:1]):  # four tracks: the report decodes in its worker pool too
        shutil.copy(p, lib / f"{i}{p.suffix}")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    for workers in ("1", "2"):
        store = tmp_path / f"store{workers}.sqlite"
        r = subprocess.run([str(_entry_point()), "scan", str(lib), "--store", str(store), "--workers", workers,
                            "--detector", "dsp"], cwd=here, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Traceback" not in r.stderr and "BrokenProcessPool" not in r.stderr
        assert "analysed now" in r.stdout
    r = subprocess.run([str(_entry_point()), "report", str(lib), "--store", str(tmp_path / "store2.sqlite"),
                        "--workers", "2", "--out", str(tmp_path / "rep")], cwd=here, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "without a waveform" not in r.stdout and "could not be decoded" not in r.stderr


def _chatty(text: str) -> tuple[bool, list[str]]:
    with decoder_messages() as lines:
        os.write(2, text.encode())  # as a C library would: straight to file descriptor 2
    return True, lines


def test_decoder_messages_are_caught_in_workers_and_logged_with_the_file(caplog: pytest.LogCaptureFixture,
                                                                       capfd: pytest.CaptureFixture[str]) -> None:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        ok, lines = pool.submit(_chatty, "[libmpg123] error: part2_3_length too large\n\n").result()
    assert ok and lines == ["[libmpg123] error: part2_3_length too large"]
    log = logging.getLogger("djstruct.test")
    with caplog.at_level(logging.WARNING, logger="djstruct.test"):
        log_messages(log, "/music/a.mp3", lines + [f"more {i}" for i in range(5)])
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs[0] == "/music/a.mp3: the decoder said: [libmpg123] error: part2_3_length too large"
    assert len(msgs) == 4 and msgs[-1] == "/music/a.mp3: ... and 3 more decoder messages"
    capfd.readouterr()
    ok, lines = _chatty("main process\n")  # the main process: fd 2 is left to whoever draws on it
    assert lines == [] and "main process" in capfd.readouterr().err
