"""Render one module, derive its truth, check it by ear-proxy, and judge whether it belongs in the set.

The set folder (``CACHE/set``) holds ``NAME.flac`` (44.1 kHz stereo 16-bit, peak-normalised when
the render clips) and ``NAME.json`` in the schema ``djstruct eval`` reads: ``{"file", "bpm",
"beats", "downbeats"}`` plus provenance; no ``sections`` or ``drops`` (a module has no such
truth), so ``eval`` scores only beats, downbeats and tempo.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tracker_corpus import Package, licence_for, sha256_file
from tracker_openmpt import Module, library_version
from tracker_truth import Grid, PulseCheck, audible_span_s, derive_grid, it_highlight, pulse_check, row_times_s

TRUTH_VERSION = 2  # bump when the truth rules change: cached renders are redone
SAMPLE_RATE_HZ = 44100
MAX_RENDER_S = 600.0

# selection thresholds (see judge)
MIN_AUDIBLE_S = 30.0
MIN_STEADY = 0.95
MIN_PULSE = 1.10
MIN_DOWN = 0.80
LAG_MS = (-10.0, 30.0)


@dataclass(frozen=True)
class ModuleRecord:
    """One module: provenance, its derived grid and the ear-proxy figures."""

    name: str
    package: str
    version: str
    path: str  # inside the package
    licence: str
    sha256: str
    format: str
    title: str
    channels: int
    duration_s: float
    audible_s: float
    bpm: float
    n_beats: int
    n_downbeats: int
    rows_per_beat: int
    rows_per_bar: int
    highlight: tuple[int, int] | None
    speeds: tuple[int, ...]
    tempos: tuple[int, ...]
    steady_frac: float
    irregular_bars: int
    n_bars: int
    bpm_min: float
    bpm_max: float
    beat_ratio: float
    low_beat_ratio: float
    down_ratio: float
    lag_ms: float
    meter_corr: float
    kick_share: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        return d


def module_name(package: str, rel: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{package}__{Path(rel).name}")


def build(pkg: Package, module_path: Path, set_dir: Path, *, force: bool = False) -> ModuleRecord:
    """Render ``module_path`` (a file of ``pkg``) into ``set_dir`` with its truth JSON; reuse a
    previous render of the same file and truth version unless ``force``."""
    rel = str(module_path.relative_to(pkg.root))
    name = module_name(pkg.name, rel)
    sha = sha256_file(module_path)
    jpath = set_dir / f"{name}.json"
    if jpath.exists() and not force:
        old = json.loads(jpath.read_text())
        src = old.get("source", {})
        if src.get("sha256") == sha and old.get("truth_version") == TRUTH_VERSION and (set_dir / old["file"]).exists():
            return _record_from_json(old)
    data = module_path.read_bytes()
    with Module(data, rel) as m:
        fmt, title, nch = m.metadata("type"), m.metadata("title"), m.n_channels
        r = m.render(SAMPLE_RATE_HZ, MAX_RENDER_S)
    hl = it_highlight(data)
    grid = derive_grid(r, *(hl or (4, 16)))
    import soxr

    mono = soxr.resample(r.audio.mean(axis=1), SAMPLE_RATE_HZ, 22050).astype(np.float32)
    pc = pulse_check(mono, grid, row_times_s(r), grid.rows_per_beat)
    lo, hi = audible_span_s(r.audio, SAMPLE_RATE_HZ)
    rec = ModuleRecord(
        name, pkg.name, pkg.version, rel, licence_for(pkg.copyright_text, rel), sha, fmt, title, nch,
        len(r.audio) / SAMPLE_RATE_HZ, hi - lo, grid.bpm, len(grid.beats_s), len(grid.downbeats_s),
        grid.rows_per_beat, grid.rows_per_bar, hl, tuple(sorted({e.speed for e in r.rows})),
        tuple(sorted({e.tempo for e in r.rows})), grid.steady_frac, grid.irregular_bars, grid.n_bars,
        grid.bpm_min, grid.bpm_max, pc.beat_ratio, pc.low_beat_ratio, pc.down_ratio, pc.lag_ms, pc.meter_corr,
        pc.kick_share)
    set_dir.mkdir(parents=True, exist_ok=True)
    _write_audio(set_dir / f"{name}.flac", r.audio)
    truth = truth_json(rec, grid, pc, f"{name}.flac")
    tmp = jpath.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(truth, indent=1))
    tmp.replace(jpath)
    return rec


def _write_audio(path: Path, audio: np.ndarray) -> None:
    import soundfile as sf

    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    x = audio * (0.999 / peak) if peak > 0.999 else audio
    tmp = path.with_name(path.stem + ".tmp.flac")
    with sf.SoundFile(tmp, "w", SAMPLE_RATE_HZ, 2, format="FLAC", subtype="PCM_16") as f:
        for i in range(0, len(x), 1 << 20):  # in blocks (soundfile crashed writing long files at once)
            f.write(np.clip(x[i:i + (1 << 20)], -1.0, 1.0))
    tmp.replace(path)


def truth_json(rec: ModuleRecord, grid: Grid, pc: PulseCheck, audio_file: str) -> dict[str, Any]:
    return {
        "file": audio_file,
        "bpm": round(grid.bpm, 4),
        "beats": np.round(grid.beats_s, 5).tolist(),
        "downbeats": np.round(grid.downbeats_s, 5).tolist(),
        "meter": f"{grid.rows_per_bar // grid.rows_per_beat}/4",
        "duration_s": round(rec.duration_s, 4),
        "truth": f"tracker rows as played by libopenmpt {library_version()}: a beat every {grid.rows_per_beat} rows, "
                 f"a bar every {grid.rows_per_bar} rows of each pattern",
        "truth_version": TRUTH_VERSION,
        "source": {k: v for k, v in rec.to_dict().items() if k not in ("name",)},
    }


def _record_from_json(d: dict[str, Any]) -> ModuleRecord:
    s = dict(d["source"])
    s["name"] = Path(d["file"]).stem
    s["highlight"] = tuple(s["highlight"]) if s.get("highlight") else None
    s["speeds"], s["tempos"] = tuple(s["speeds"]), tuple(s["tempos"])
    return ModuleRecord(**s)


def judge(rec: ModuleRecord, seen: list[ModuleRecord]) -> str | None:
    """Why the module is left out of the benchmark, or None when it has a steady 4/4 grid."""
    if rec.audible_s < MIN_AUDIBLE_S:
        return f"too short ({rec.audible_s:.0f} s of audio)"
    if rec.rows_per_bar != 4 * rec.rows_per_beat:
        return (f"not 4/4: its own highlight is {rec.rows_per_beat} rows per beat, {rec.rows_per_bar} per bar "
                f"({rec.rows_per_bar // rec.rows_per_beat} beats)")
    if rec.steady_frac < MIN_STEADY:
        return (f"no steady tempo: {rec.steady_frac:.1%} of beats within 1.5 % of the median "
                f"(speeds {list(rec.speeds)}, tempos {list(rec.tempos)}; {rec.bpm_min:.0f}-{rec.bpm_max:.0f} BPM)")
    if rec.irregular_bars > 1:
        return (f"{rec.irregular_bars} of {rec.n_bars} bars are not {rec.rows_per_bar} rows long "
                "(patterns off the bar grid)")
    if rec.meter_corr <= 0:
        return f"no four-beat bar in the audio (onset autocorrelation at 4 beats - at 3 beats = {rec.meter_corr:.2f})"
    if max(rec.beat_ratio, rec.low_beat_ratio) < MIN_PULSE:
        return (f"no clear pulse on the beats (onset strength at beats / off-beats {rec.beat_ratio:.2f}, "
                f"low band {rec.low_beat_ratio:.2f})")
    if rec.down_ratio < MIN_DOWN:
        return f"bar phase not in the audio (low-band onsets at downbeats / other beats {rec.down_ratio:.2f})"
    if not LAG_MS[0] <= rec.lag_ms <= LAG_MS[1]:
        return f"onsets peak {rec.lag_ms:.0f} ms from the derived beats"
    for o in seen:
        if o.package == rec.package and abs(o.duration_s - rec.duration_s) < 0.5 and abs(o.bpm - rec.bpm) < 0.01:
            return f"duplicate of {o.name} (same length and tempo)"
    return None
