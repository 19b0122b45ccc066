"""The track drawing as a PNG (``djstruct analyze FILE --plot out.png``), with matplotlib's Agg
backend (imported when called).

It draws the same page JSON as the HTML report's script (:mod:`djstruct.report.track_js`), with the
same palette, lanes and label steps (:mod:`djstruct.report.palette`): existing-cue flags on top,
section bands, the waveform (energy-coloured), the bar ruler, the energy curves and the planned-cue
flags below. y runs in the lanes' pixels, x in seconds.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.cues.plan import load_layout
from djstruct.errors import DjstructError
from djstruct.report import palette as pal
from djstruct.report.data import build_entry
from djstruct.report.waveform import energy_columns, file_envelope, from_energy, n_columns
from djstruct.types import Analysis, Track

log = logging.getLogger(__name__)

_DPI = 150


def page_from_analysis(analysis: Analysis, audio_path: Path | None = None, layout: str = "default",
                       points: int = 1500) -> dict[str, Any]:
    """The report's page JSON for a lone analysis (no library: no existing cues; planned cues as a
    Rekordbox XML writeback would place them, memory cues included), waveform decoded from
    ``audio_path`` when it is readable, else drawn from the energy."""

    path = Path(audio_path if audio_path is not None else analysis.path)
    track = Track(id=path.stem, path=path, source="rekordbox-xml", title=path.stem)
    entry = build_entry(track, analysis, None, load_layout(layout), "rekordbox-xml", [], path.stem)
    page = dict(entry.page or {})
    n = n_columns(analysis.duration_s, points)
    try:
        page["wave"] = file_envelope(path, analysis.duration_s, n).to_dict()
    except DjstructError as e:
        page["wave"] = from_energy(analysis.energy, analysis.duration_s, n,
                                   f"waveform drawn from the energy ({e.reason})"
                                   ).to_dict()
    page["energy"] = energy_columns(analysis.energy, analysis.duration_s, n)
    return page


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def draw_png(page: dict[str, Any], out: Path, colour_by: str = "energy") -> Path:
    """Draw ``page`` (the report's page JSON, waveform and energy filled in) into the PNG ``out``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon, Rectangle

    lanes = pal.lane_offsets()
    total_h = lanes["total"][1]
    dur = max(float(page["duration_s"]), 1e-3)
    px = dur / pal.WIDTH  # seconds per lane pixel
    top, bottom = lanes["sections"][0], lanes["energy"][0] + lanes["energy"][1]
    fig = Figure(figsize=(pal.WIDTH / 100, (total_h + 34) / 100), dpi=_DPI, facecolor=pal.PANEL)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.02, 0.98, total_h / (total_h + 34) - 0.02))
    ax.set_xlim(0, dur)
    ax.set_ylim(total_h, 0)
    ax.axis("off")
    bpm = "-" if page.get("bpm") is None else f"{page['bpm']:g}"
    fig.text(0.01, 0.985, f"{page['title']}   BPM {bpm}   {len(page['sections'])} sections   "
             f"{len(page['drops'])} drops   detector {page['detector']}   confidence {page['confidence']:.2f}",
             color=pal.TEXT, fontsize=9, va="top", ha="left", fontweight="bold")
    ax.add_patch(Rectangle((0, top), dur, bottom - top, facecolor=pal.BACKGROUND, edgecolor="none"))

    wy, wh = lanes["wave"]
    for s in page["sections"]:  # tints behind the waveform, ruler and energy
        ax.add_patch(Rectangle((s["start"], wy), s["end"] - s["start"], bottom - wy, facecolor=s["color"],
                               alpha=0.09, edgecolor="none"))
        ax.plot([s["start"]] * 2, [wy, bottom], color=s["color"], alpha=0.45, lw=0.6)

    wave, energy = page.get("wave") or {}, page.get("energy")
    n = int(wave.get("n", 0))
    if n:
        col_s, mid, half = float(wave["col_s"]), wy + wh / 2, wh / 2 - 3
        colours = _column_colours(page, n, col_s, colour_by)
        for key, alpha in (("peak", 0.5), ("rms", 1.0)):
            h = np.asarray(wave[key], np.float64) / 255.0 * half
            x0 = np.arange(n) * col_s
            verts = [[(a, mid - b), (a + col_s, mid - b), (a + col_s, mid + b), (a, mid + b)]
                     for a, b in zip(x0, h, strict=True)]
            ax.add_collection(PolyCollection(verts, facecolors=colours, edgecolors="none", alpha=alpha))
        ax.plot([0, dur], [mid, mid], color=pal.GRID, lw=0.4)

    ry, rh = lanes["ruler"]
    ax.add_patch(Rectangle((0, ry), dur, rh, facecolor=pal.PANEL, alpha=0.6, edgecolor="none"))
    down = page["downbeats"]
    step = pal.bar_label_step(len(down), pal.WIDTH)
    segs = [[(t, ry), (t, ry + (11 if i % step == 0 else 6))] for i, t in enumerate(down)]
    if page["beats"] and pal.WIDTH / len(page["beats"]) >= 3:
        segs += [[(t, ry), (t, ry + 3)] for t in page["beats"]]
    ax.add_collection(LineCollection(segs, colors=pal.MUTED, linewidths=0.6))
    for i, t in enumerate(down):
        if i % step == 0:
            ax.text(t + 2 * px, ry + 18, str(i + 1), color=pal.TEXT, fontsize=6, va="baseline")
    t_step = next((s for s in pal.TIME_LABEL_STEPS_S if s / px >= pal.MIN_TIME_LABEL_PX), pal.TIME_LABEL_STEPS_S[-1])
    for t in np.arange(0.0, dur, t_step):
        if t / px < pal.WIDTH - 26:
            m, sec = divmod(int(round(t)), 60)
            ax.text(t + 2 * px, ry + rh - 2, f"{m}:{sec:02d}", color=pal.MUTED, fontsize=5, va="baseline")

    ey, eh = lanes["energy"]
    if energy:
        for band in ("high", "mid", "bass"):
            v = np.asarray(energy[band], np.float64)
            x = (np.arange(len(v)) + 0.5) * dur / len(v)
            y = ey + eh - 3 - v / 100.0 * (eh - 8)
            ax.fill_between(x, y, ey + eh, color=pal.ENERGY_COLORS[band], alpha=0.10, lw=0)
            ax.plot(x, y, color=pal.ENERGY_COLORS[band], lw=0.8)

    sy, sh = lanes["sections"]
    for s in page["sections"]:
        w = s["end"] - s["start"]
        ax.add_patch(Rectangle((s["start"] + 0.5 * px, sy + 2), max(0.0, w - px), sh - 4, facecolor=s["color"],
                               edgecolor="none"))
        if w / px > len(s["name"]) * 6.4 + 10:
            ax.text(s["start"] + 6 * px, sy + sh / 2, s["name"], color="#0d0f12", fontsize=6.5, va="center",
                    fontweight="bold")
    for t in page.get("changes", []):  # a new part inside a section
        ax.plot([t, t], [sy + 2, sy + sh - 2], color="#0d0f12", lw=1.2, ls=(0, (3, 2)))
    for d in page["drops"]:
        ax.add_patch(Polygon([(d - 6 * px, wy), (d + 6 * px, wy), (d, wy + 9)], closed=True, facecolor=pal.DROP_COLOR,
                             edgecolor=pal.BACKGROUND, lw=0.5))

    for c in page["cues"]:
        if c["origin"] == "planned" and c["action"] == "skip":
            continue
        _draw_cue(ax, c, lanes, top, bottom, px, dur, Rectangle, Polygon)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=_DPI, facecolor=fig.get_facecolor())
    log.info("wrote %s", out)
    return out


def _column_colours(page: dict[str, Any], n: int, col_s: float, colour_by: str) -> list[str]:
    energy = page.get("energy")
    if colour_by == "section" or not energy:
        out = []
        for i in range(n):
            t = (i + 0.5) * col_s
            s = next((s for s in page["sections"] if s["start"] <= t < s["end"]), None)
            out.append(s["color"] if s else pal.MUTED)
        return out
    b, m, h = (np.asarray(energy[k], np.float64) / 100.0 for k in ("bass", "mid", "high"))
    return [_hex(pal.energy_mix(b[i], m[i], h[i])) for i in range(n)]


def _draw_cue(ax: Any, c: dict[str, Any], lanes: dict[str, tuple[int, int]], top: float, bottom: float, px: float,
              dur: float, Rectangle: Any, Polygon: Any) -> None:  # noqa: N803 - matplotlib classes passed in
    style = pal.CUE_STYLES[c["origin"]]
    col = c.get("color") or pal.CUE_DEFAULT_COLOR
    t = float(c["t"])
    ax.plot([t, t], [top, bottom], color=col, lw=0.9, ls=(0, (5, 3)) if style["dash"] else "-", alpha=0.95)
    ly, lh = lanes["flags_top"] if style["flag"] == "top" else lanes["flags_bottom"]
    fy, s = ly + 3, lh - 6
    face = col if style["filled"] else pal.BACKGROUND
    if c["kind"] == "memory":
        tip, base = (fy + s, fy) if style["flag"] == "top" else (fy, fy + s)
        ax.add_patch(Polygon([(t - s / 2 * px, base), (t + s / 2 * px, base), (t, tip)], closed=True, facecolor=face,
                             edgecolor=col, lw=0.8))
        return
    fx = t - s * px if t + s * px > dur else t
    ax.add_patch(Rectangle((fx, fy), s * px, s, facecolor=face, edgecolor=col, lw=0.8))
    ax.text(fx + s / 2 * px, fy + s / 2 + 0.5, c["letter"], ha="center", va="center", fontsize=6, fontweight="bold",
            color="#0d0f12" if style["filled"] else col)


def plot_analysis(analysis: Analysis, out: Path, audio_path: Path | None = None, layout: str = "default") -> Path:
    """``analysis`` (of ``audio_path``, default ``analysis.path``) as a PNG at ``out``."""
    return draw_png(page_from_analysis(analysis, audio_path, layout), out)
