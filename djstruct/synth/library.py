"""Synthetic DJ libraries: synthetic tracks + a Rekordbox XML whose cues a (synthetic) DJ placed,
with known label noise injected — for testing harvest, the label-error detection and training
from a library.

A DJ ``style`` (:data:`STYLES`) decides where the cues go: ``"sections"`` (a memory cue at every
section start, named by section), ``"pre-drop-16"`` (a cue 16 bars before every drop and on every
drop, none at breakdowns), ``"post-drop-8+pre-break-4"`` (8 bars after every drop and 4 bars before
every breakdown, nothing on the drops themselves), ``"every-32-from-first-drop"`` (on the first drop
and every 32 bars after it, on the grid, whatever the sections) or ``"first-drop-only"`` (one cue, on
the first drop). Noise (fractions of the clean cues): ``off_grid`` moved 40-300 ms off the grid,
``shifted`` moved by one bar, ``spurious`` extra cues on non-boundary downbeats, ``missing``
removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from djstruct import timing
from djstruct.library.rekordbox.locations import path_to_location


@dataclass(frozen=True)
class Noise:
    off_grid: float = 0.0
    shifted: float = 0.0
    spurious: float = 0.0
    missing: float = 0.0


@dataclass
class Injected:
    """What was done to each track's cues (times in s), keyed by audio path."""

    off_grid: dict[str, list[float]] = field(default_factory=dict)
    shifted: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (cue time, true time)
    spurious: dict[str, list[float]] = field(default_factory=dict)
    missing: dict[str, list[float]] = field(default_factory=dict)


STYLES: tuple[str, ...] = ("sections", "pre-drop-16", "post-drop-8+pre-break-4", "every-32-from-first-drop",
                           "first-drop-only")


def style_cues(truth: dict, style: str) -> list[tuple[float, str]]:  # type: ignore[type-arg]
    """(time, name) of the cues a DJ with ``style`` puts on a track with this ground truth (keys
    ``bpm``, ``offset_s``, ``downbeats``, ``sections``, ``drops``), in time order; a cue that would
    fall before the first or after the last downbeat is left out."""
    bar = 240.0 / truth["bpm"]
    first = float(truth["offset_s"])
    down = truth.get("downbeats") or []
    last = float(down[-1]) if len(down) else float(truth.get("duration_s", 1e9))
    if style == "sections":
        counts: dict[str, int] = {}
        out = []
        for s in truth["sections"]:
            counts[s["label"]] = counts.get(s["label"], 0) + 1
            out.append((s["start"], f"{s['label'].capitalize()} {counts[s['label']]}"))
        return out
    if style == "pre-drop-16":
        out = []
        for i, d in enumerate(truth["drops"], 1):
            if d - 16 * bar >= first - 1e-6:
                out.append((d - 16 * bar, f"-16 Drop {i}"))
            out.append((d, f"Drop {i}"))
        return out
    if style == "post-drop-8+pre-break-4":
        out = [(d + 8 * bar, f"Drop {i} +8") for i, d in enumerate(truth["drops"], 1)]
        breaks = [s["start"] for s in truth["sections"] if s["label"] == "breakdown"]
        out += [(b - 4 * bar, f"-4 Break {i}") for i, b in enumerate(breaks, 1)]
        out = [(t, n) for t, n in sorted(out) if first - 1e-6 <= t <= last + 1e-6]
        return [c for k, c in enumerate(out) if k == 0 or c[0] - out[k - 1][0] > 0.5 * bar]
    if style == "every-32-from-first-drop":
        if not truth["drops"]:
            return []
        d0 = float(truth["drops"][0])
        n = int(np.floor((last - d0) / (32 * bar) + 1e-6)) + 1 if d0 <= last + 1e-6 else 0
        return [(d0 + 32 * k * bar, "Drop 1" if k == 0 else f"Drop 1 +{32 * k}") for k in range(n)]
    if style == "first-drop-only":
        return [(float(truth["drops"][0]), "Drop 1")] if truth["drops"] else []
    raise ValueError(f"unknown style {style!r} (one of {', '.join(STYLES)})")


def write_dj_library(corpus: Path, xml: Path, *, style: str = "sections", noise: Noise = Noise(),
                     seed: int = 0) -> Injected:
    """A Rekordbox XML over the synthetic corpus in ``corpus`` (NAME.json + audio), with the
    library grid from the ground truth and the DJ's cues (memory cues, Num=-1) plus noise."""
    rng = np.random.default_rng(seed)
    inj = Injected()
    rows = []
    for i, jf in enumerate(sorted(corpus.glob("*.json")), 1):
        truth = json.loads(jf.read_text())
        audio = (corpus / truth["file"]).resolve()
        key = str(audio)
        off = timing.offset_s(audio, "rekordbox")  # the XML holds Rekordbox's times
        bar = 240.0 / truth["bpm"]
        cues = style_cues(truth, style)
        down = np.asarray(truth["downbeats"])
        boundary = {round(t, 3) for t, _ in cues}
        final: list[tuple[float, str]] = []
        for t, name in cues:
            r = rng.random()
            if r < noise.missing:
                inj.missing.setdefault(key, []).append(t)
                continue
            r -= noise.missing
            if r < noise.shifted:
                t2 = t + bar * (1 if rng.random() < 0.5 or t - bar < down[0] else -1)
                inj.shifted.setdefault(key, []).append((t2, t))
                final.append((t2, name))
                continue
            r -= noise.shifted
            if r < noise.off_grid:
                t2 = t + float(rng.choice([-1, 1]) * rng.uniform(0.04, 0.3))
                if t2 + off < 0:  # not before the start of the file: the DJ app would refuse it
                    t2 = 2 * t - t2
                inj.off_grid.setdefault(key, []).append(t2)
                final.append((t2, name))
                continue
            final.append((t, name))
        n_spur = rng.binomial(len(cues), noise.spurious) if noise.spurious > 0 else 0
        free = [d for d in down if all(abs(d - b) > 1.5 * bar for b in boundary)]
        for d in rng.choice(free, size=min(n_spur, len(free)), replace=False) if free and n_spur else []:
            inj.spurious.setdefault(key, []).append(float(d))
            final.append((float(d), "Cue"))
        marks = "".join(f'<POSITION_MARK Name="{name}" Type="0" Start="{t + off:.3f}" Num="-1"/>'
                        for t, name in sorted(final))
        rows.append(f'<TRACK TrackID="{i}" Name="{jf.stem}" Genre="{truth["genre"]}" '
                    f'Location="{path_to_location(audio)}" TotalTime="{int(truth["duration_s"])}" '
                    f'AverageBpm="{truth["bpm"]:.2f}"><TEMPO Inizio="{truth["offset_s"] + off:.4f}" '
                    f'Bpm="{truth["bpm"]:.4f}" Metro="4/4" Battito="1"/>{marks}</TRACK>')
    xml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<DJ_PLAYLISTS Version="1.0.0">'
                   '<PRODUCT Name="rekordbox" Version="6.6.1" Company="AlphaTheta"/>'
                   f'<COLLECTION Entries="{len(rows)}">{"".join(rows)}</COLLECTION></DJ_PLAYLISTS>\n',
                   encoding="utf-8")
    return inj
