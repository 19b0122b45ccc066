"""The hand-marked section starts of real music (benchmarks/data/real_music_sections.json) stay consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "real_music_sections.json"
LABELS = {None, "intro", "buildup", "drop", "breakdown", "outro"}


@pytest.fixture(scope="module")
def ann() -> dict:
    return json.loads(DATA.read_text())


def test_every_marked_track_has_its_source(ann: dict) -> None:
    marks = {k: v for k, v in ann.items() if not k.startswith("_")}
    assert set(marks) == set(ann["_tracks"])
    assert len(marks) >= 33
    for name, src in ann["_tracks"].items():
        assert src["set"] in (1, 2), name
        assert src["package"] and src["version"] and src["path"], name
        assert len(src["sha256"]) == 64, name
    assert not set(ann["_skipped"]) & set(marks)


def test_starts_are_sorted_positive_and_inside_the_track(ann: dict) -> None:
    for name, src in ann["_tracks"].items():
        starts = ann[name]
        assert starts, name
        assert starts == sorted(starts) and starts[0] > 0, name
        assert min(b - a for a, b in zip([0.0, *starts[:-1]], starts, strict=True)) >= 2.0, name
        if "duration_s" in src:
            assert starts[-1] < src["duration_s"], name


def test_set_two_has_a_label_and_confidence_per_start(ann: dict) -> None:
    two = {k: v for k, v in ann["_tracks"].items() if v["set"] == 2}
    assert len(two) >= 20
    assert len({v["package"] for v in two.values()}) >= 8
    for name, src in two.items():
        n = len(ann[name])
        assert len(src["labels"]) == n and len(src["confidence"]) == n, name
        assert set(src["labels"]) <= LABELS, name
        assert set(src["confidence"]) <= {"high", "medium"}, name
        assert 60 <= src["tempo_bpm"] <= 200, name
        assert 0 <= src["first_downbeat_s"] < 4 * 60 / src["tempo_bpm"], name
