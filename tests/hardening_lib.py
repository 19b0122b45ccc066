"""Helpers of the hardening tests (tests/test_hardening_*.py, tests/test_fuzz_*.py): a tiny library
of short noise clips whose analyses are put into a store directly (no detector runs), a minimal
Rekordbox XML export of it, and a strict JSON reader."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner, Result

from djstruct.audio.fingerprint import fingerprint
from djstruct.cli.main import cli
from djstruct.library.rekordbox.locations import path_to_location
from djstruct.store import Store
from djstruct.synth.encode import encode
from djstruct.types import Analysis, Section

DETECTOR, VERSION = "dsp", "test"


def clip(path: Path, fmt: str = "wav", seconds: float = 4.0, seed: int = 0) -> Path:
    """A short stereo noise clip at 44.1 kHz."""
    x = np.random.default_rng(seed).normal(0, 0.05, (int(44100 * seconds), 2)).astype(np.float32)
    return encode(x, 44100, path, fmt)


def analysis_for(path: Path, duration_s: float = 4.0, bpm: float = 120.0) -> Analysis:
    """An analysis with a beat every 0.5 s from 0.1 s, an intro and a drop at 2.1 s."""
    beats = tuple(float(b) for b in np.arange(0.1, duration_s, 60.0 / bpm).round(4))
    sections = (Section(0.0, 2.1, "intro"), Section(2.1, duration_s, "drop"))
    return Analysis(str(path), duration_s, bpm, beats, beats[::4], sections, (2.1,), None, DETECTOR, 0.5)


def make_library(root: Path, n: int = 3, fmt: str = "wav") -> tuple[Path, Path, list[Path]]:
    """``(folder, store, files)``: ``n`` clips in ``root/Music``, each analysed in ``root/store.sqlite``."""
    lib = root / "Music"
    lib.mkdir(parents=True, exist_ok=True)
    store = root / "store.sqlite"
    ext = {"mp3-noxing": "mp3", "aiff": "aif"}.get(fmt, fmt)
    files = [clip(lib / f"t{i}.{ext}", fmt, seed=i) for i in range(n)]
    with Store.open(store) as st:
        for p in files:
            st.put_analysis(p, analysis_for(p), DETECTOR, VERSION, fingerprint(p))
    return lib, store, files


TEMPO = '<TEMPO Inizio="0.100" Bpm="120.00" Metro="4/4" Battito="1"/>'


def rekordbox_xml(path: Path, files: list[Path], marks: dict[int, str] | None = None, *, tempo: str = TEMPO,
                  track_attrs: str = 'TotalTime="4" AverageBpm="120.00"', encoding: str = "UTF-8",
                  extra: str = "") -> Path:
    """A Rekordbox export listing ``files`` (TrackID 1..n); ``marks[i]`` is raw XML put in TRACK i."""
    marks = marks or {}
    rows = [f'  <TRACK TrackID="{i}" Name="{p.stem}" Location="{path_to_location(p)}" {track_attrs}>'
            f'{tempo}{marks.get(i, "")}</TRACK>\n' for i, p in enumerate(files, 1)]
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n<DJ_PLAYLISTS Version="1.0.0">\n'
            f'<PRODUCT Name="rekordbox" Version="6.6.1"/>\n<COLLECTION Entries="{len(rows)}">\n{"".join(rows)}'
            f'</COLLECTION>\n{extra}<PLAYLISTS><NODE Type="0" Name="ROOT" Count="0"/></PLAYLISTS>\n</DJ_PLAYLISTS>\n')
    path.write_bytes(text.encode("utf-8"))
    return path


def invoke(*args: Any) -> Result:
    """Run the CLI in-process; an exception other than SystemExit stays in ``result.exception``."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_clean(r: Result, code: int | None = None) -> None:
    """No traceback: the command ended through SystemExit (or normally) with one-line errors."""
    assert r.exception is None or isinstance(r.exception, SystemExit), (r.output, r.exception)
    assert "Traceback" not in r.output
    if code is not None:
        assert r.exit_code == code, r.output


def _no_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def strict_json(line: str) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and ``-Infinity`` (as JSON.parse does)."""
    return json.loads(line, parse_constant=_no_constant)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def ogg_with_last_granule(data: bytes, granule: int) -> bytes:
    """An Ogg file whose last page claims ``granule`` samples (its CRC recomputed), as a damaged or
    truncated file can: the header length becomes absurd."""
    import struct

    out = bytearray(data)
    at = out.rfind(b"OggS")
    n_seg = out[at + 26]
    end = at + 27 + n_seg + sum(out[at + 27:at + 27 + n_seg])
    out[at + 6:at + 14] = struct.pack("<q", granule)
    out[at + 22:at + 26] = b"\0\0\0\0"
    crc = 0
    for b in out[at:end]:
        crc = ((crc << 8) ^ _OGG_CRC[((crc >> 24) ^ b) & 0xFF]) & 0xFFFFFFFF
    out[at + 22:at + 26] = struct.pack("<I", crc)
    return bytes(out)


def put_serato(path: Path, values: dict[str, bytes | None]) -> None:
    """Store Serato tag values (as the container stores them: GEOB body, base64 envelope...) in
    ``path`` directly, bypassing every check of the writer (None removes one)."""
    from djstruct.library.serato.tags import open_tags, padding, save, set_value

    tf = open_tags(path, create=True)
    for name, value in values.items():
        set_value(tf, name, value)
    save(tf, path, padding(0))
