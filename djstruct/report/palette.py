"""One palette and one lane layout for every drawing of a track: the HTML report (drawn by the
page's script from :func:`palette_json`) and the PNG of ``djstruct analyze --plot``.

Section colours are those of the ``default`` cue layout, so a section band and the memory cue
djstruct plans at its start share a colour. The waveform's energy colouring mixes red (bass),
green (mid) and blue (high) like the overview strips of DJ software.
"""

from __future__ import annotations

from typing import Any

SECTION_COLORS: dict[str, str] = {
    "intro": "#1e90ff",
    "buildup": "#ffa500",
    "drop": "#e62828",
    "breakdown": "#7c4dff",
    "outro": "#20b2aa",
}
OTHER_SECTION_COLOR = "#8a8f98"

ENERGY_COLORS: dict[str, str] = {"bass": "#ff4b3e", "mid": "#3ddc6a", "high": "#3a8dff"}

CUE_DEFAULT_COLOR = "#d0d0d0"
DROP_COLOR = "#ffffff"
BACKGROUND = "#14161b"
PANEL = "#1c1f26"
GRID = "#3a3f4b"
TEXT = "#e8e8ea"
MUTED = "#9aa0ab"
PLAYHEAD = "#ffffff"

# Lanes top to bottom, heights in px of a WIDTH-px wide drawing (the PNG uses the same ratios).
WIDTH = 1200
LANES: tuple[tuple[str, int], ...] = (
    ("flags_top", 22),  # existing cues: filled flags with the hot-cue letter
    ("sections", 28),  # section bands with labels, drop markers
    ("wave", 150),  # the waveform overview
    ("ruler", 30),  # bar ticks + bar numbers, time labels
    ("energy", 90),  # bass / mid / high curves
    ("flags_bottom", 22),  # planned cues: hollow flags
)

CUE_STYLES: dict[str, dict[str, Any]] = {
    # where the flag goes, whether it is filled, the dash pattern of the line (SVG stroke-dasharray)
    "existing": {"flag": "top", "filled": True, "dash": "", "label": "existing cue"},
    "planned": {"flag": "bottom", "filled": False, "dash": "5 3", "label": "planned cue"},
}

MIX_SHARPNESS = 3.0  # higher: purer colours where one band dominates
ENERGY_SMOOTH_S = 0.75  # the energy curves (and the energy colouring) are averaged over this many seconds

TIME_LABEL_STEPS_S = (5, 10, 15, 30, 60, 120, 300, 600)
MIN_TIME_LABEL_PX = 70.0

BAR_LABEL_STEPS = (1, 2, 4, 8, 16, 32, 64, 128)
MIN_LABEL_PX = 46.0


def section_color(label: str) -> str:
    """``#rrggbb`` of a section label (grey for labels outside :data:`SECTION_COLORS`)."""
    return SECTION_COLORS.get(label, OTHER_SECTION_COLOR)


def lane_offsets() -> dict[str, tuple[int, int]]:
    """``{lane: (top_px, height_px)}`` and ``"total"``: ``(0, total height)``."""
    out: dict[str, tuple[int, int]] = {}
    y = 0
    for name, h in LANES:
        out[name] = (y, h)
        y += h
    out["total"] = (0, y)
    return out


def bar_label_step(n_bars: int, width_px: float, min_px: float = MIN_LABEL_PX) -> int:
    """Label every k-th bar, k the smallest of :data:`BAR_LABEL_STEPS` that puts labels at least
    ``min_px`` apart when ``n_bars`` bars span ``width_px``."""
    if n_bars <= 0 or width_px <= 0:
        return BAR_LABEL_STEPS[-1]
    px_per_bar = width_px / n_bars
    for k in BAR_LABEL_STEPS:
        if k * px_per_bar >= min_px:
            return k
    return BAR_LABEL_STEPS[-1]


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def energy_mix(bass: float, mid: float, high: float) -> tuple[int, int, int]:
    """The waveform colour of one column from its band energies (each in [0, 1]): the band colours
    weighted by their share (sharpened: energy to the power :data:`MIX_SHARPNESS`), scaled so the
    brightest channel is 45-100 % of full scale as the loudest band goes from 0 to 1. The page's
    script uses the same formula."""
    sharp = (bass**MIX_SHARPNESS, mid**MIX_SHARPNESS, high**MIX_SHARPNESS)
    total = sum(sharp)
    if total <= 1e-9:
        return _rgb(GRID)
    w = tuple(v / total for v in sharp)
    cols = [_rgb(ENERGY_COLORS[k]) for k in ("bass", "mid", "high")]
    mixed = [sum(w[i] * cols[i][c] for i in range(3)) for c in range(3)]
    gain = (0.45 + 0.55 * min(1.0, max(bass, mid, high))) * 255.0 / max(max(mixed), 1.0)
    return tuple(min(255, int(round(gain * v))) for v in mixed)  # type: ignore[return-value]


def palette_json() -> dict[str, Any]:
    """Everything the page's script needs to draw like :mod:`djstruct.report.draw` (JSON-able)."""
    return {
        "sections": SECTION_COLORS,
        "other_section": OTHER_SECTION_COLOR,
        "energy": ENERGY_COLORS,
        "mix_sharpness": MIX_SHARPNESS,
        "cue_default": CUE_DEFAULT_COLOR,
        "cue_styles": CUE_STYLES,
        "drop": DROP_COLOR,
        "background": BACKGROUND,
        "panel": PANEL,
        "grid": GRID,
        "text": TEXT,
        "muted": MUTED,
        "playhead": PLAYHEAD,
        "width": WIDTH,
        "lanes": [list(x) for x in LANES],
        "bar_label_steps": list(BAR_LABEL_STEPS),
        "min_label_px": MIN_LABEL_PX,
        "time_label_steps_s": list(TIME_LABEL_STEPS_S),
        "min_time_label_px": MIN_TIME_LABEL_PX,
    }
