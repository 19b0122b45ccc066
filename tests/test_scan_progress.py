"""Scan progress moves one track at a time on a CPU, also with the batched ml detector."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import djstruct.scan as scan_mod
from djstruct.library import LibrarySource
from djstruct.scan import ScanConfig, ScanEvent, run_scan


def test_on_a_cpu_each_track_is_analysed_and_reported_as_it_arrives(short_corpus: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "Music"
    lib.mkdir()
    for p in short_corpus.iterdir():
        if p.suffix != ".json":
            shutil.copy(p, lib / p.name)
    batches: list[int] = []
    real = scan_mod.get_detector

    def recording(name: str | None, **options: Any) -> Any:
        det = real(name, **options)
        if getattr(det, "batched", False):
            inner = det.analyze_batch
            monkeypatch.setattr(det, "analyze_batch", lambda audios: (batches.append(len(audios)), inner(audios))[1])
        return det

    monkeypatch.setattr(scan_mod, "get_detector", recording)
    events: list[ScanEvent] = []
    cfg = ScanConfig((LibrarySource("folder", lib),), tmp_path / "store.sqlite", "ml", {"device": "cpu"}, workers=2,
                     batch_size=8)
    result = run_scan(cfg, events.append)
    assert result.analysed == 3
    assert batches == [1, 1, 1]  # not one batch of 3 at the end: the bar moves per track
    assert [e.done for e in events if e.kind == "done"] == [1, 2, 3]
