"""Shared fixtures: a tiny synthetic corpus rendered once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"


@pytest.fixture(scope="session")
def short_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short synthetic tracks (house/techno/trance, every section 8 bars) as MP3, FLAC and
    M4A, each with its ground-truth JSON."""
    from djstruct.synth import render_corpus

    out = tmp_path_factory.mktemp("corpus")
    render_corpus(out, 3, seed=4, formats=["mp3", "flac", "m4a"], short=True)
    return out


@pytest.fixture()
def shared_fixtures() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/fixtures/real is not present")
    return SHARED
