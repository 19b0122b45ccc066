"""What plays in each bar of each kind of section, and the plan of a whole track.

Variants (drawn per section):

- intro ``drums`` (DJ-friendly: kick from bar 1, hats, then claps and percussion), ``pad_first``
  (4-16 bars of pad/atmosphere before the drums: still one intro), ``sparse`` (kick and rumble);
- buildup ``classic`` (accelerating snare roll to 1/16, riser, filter opening, kick back in for
  the last 2-4 bars: the loudest bars before the drop), ``kick_roll`` (kick in quarters, then
  8ths and 16ths), ``fake`` (a fake drop halfway, then a second build), ``pickup`` (4 bars);
  the last 0-2 beats may be silent (the drop then starts after a silent beat);
- drop ``main`` / ``alt`` (the second drop of a double drop: other bass and lead); vocals may
  enter in the middle;
- breakdown ``pads``, ``lead_mid`` (the lead enters halfway), ``quiet_kick``, ``vocal_mid``;
- outro ``drums`` (elements leave, the kick stays), ``fade`` (the groove fades out: part of the
  outro), ``pad_tail`` (the drums stop for the last bars).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from djstruct.synth.sampled.plan import Automation, Bar, Plan, Section, draw_frame

logger = logging.getLogger(__name__)

Parts = dict[str, str]
VARIANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "intro": (("drums", 0.55), ("pad_first", 0.3), ("sparse", 0.15)),
    "buildup": (("classic", 0.65), ("kick_roll", 0.35)),
    "breakdown": (("pads", 0.3), ("lead_mid", 0.3), ("quiet_kick", 0.2), ("vocal_mid", 0.2)),
    "outro": (("drums", 0.5), ("fade", 0.3), ("pad_tail", 0.2)),
}


def _choice(rng: np.random.Generator, opts: tuple[tuple[str, float], ...]) -> str:
    p = np.array([w for _, w in opts])
    return str(opts[int(rng.choice(len(opts), p=p / p.sum()))][0])


def draw_traits(rng: np.random.Generator, pool: str, genre: Any) -> dict[str, Any]:
    """Per-track choices the section builders share."""
    lead = str(rng.choice(genre.lead))
    chords = str(rng.choice(genre.chords))
    return {
        "perc": bool(rng.random() < 0.6), "pad_in_drop": bool(rng.random() < 0.4), "lead": lead,
        "chords": chords, "vocal": bool(rng.random() < 0.6), "vocal_style": str(rng.choice(["phrase", "chops"])),
        "atmos": bool(rng.random() < 0.6), "fill_p": float(rng.uniform(0.3, 0.85)),
        "crash_every": int(rng.choice([8, 16])), "sparse_kick": bool(rng.random() < genre.sparse_kick),
        "rumble": bool(rng.random() < genre.rumble), "loop": bool(pool == "train" and rng.random() < genre.loop),
        "drop_b_half": bool(rng.random() < 0.35), "hats": str(rng.choice(genre.hats)),
        "kick": int(rng.integers(len(genre.kick))), "snare": int(rng.integers(len(genre.snare))),
        "bass": str(rng.choice(genre.bass)), "sub": bool(rng.random() < 0.6),
        "swing": float(rng.uniform(*genre.swing)), "impact": bool(rng.random() < 0.7),
        "gap": int(rng.choice([0, 1, 2, 4], p=[0.35, 0.35, 0.2, 0.1])),
    }


def _groove(tr: dict[str, Any], parts: Parts, *, snare: bool = True, hats: str = "full", bass: str = "") -> Parts:
    parts["kick"] = "under" if tr["sparse_kick"] else "full"
    if tr["rumble"]:
        parts["rumble"] = "on"
    if snare:
        parts["snare"] = "full"
    if hats:
        parts["hats"] = hats
    if bass:
        parts["bass"] = bass
        if tr["sub"]:
            parts["sub"] = "on"
    return parts


def intro(n: int, variant: str, tr: dict[str, Any], rng: np.random.Generator, events: list[tuple[int, str]],
          ) -> list[tuple[Parts, dict[str, Any]]]:
    pad_bars = 0
    if variant == "pad_first":
        pad_bars = int(rng.choice([b for b in (4, 8, 16) if b <= n // 2]))
        events.append((pad_bars, "drums_enter"))
    hats_from = pad_bars + (0 if rng.random() < 0.5 or n - pad_bars < 16 else 8)
    snare_from = pad_bars + int(rng.choice([b for b in (0, 8, 16) if b <= max(0, n - pad_bars - 8)]))
    perc_from = min(n, snare_from + 8)
    bass_from = n - 8 if n >= 16 and rng.random() < 0.4 else n
    if bass_from < n:
        events.append((bass_from, "bass_enters"))
    out = []
    for pos in range(n):
        p: Parts = {}
        x: dict[str, Any] = {}
        if pos < pad_bars:
            p["pad"] = "swell" if pos == 0 else "on"
            if tr["atmos"]:
                p["atmos"] = "on"
        elif variant == "sparse":
            p["kick"] = "full"
            p["rumble" if tr["rumble"] else "atmos"] = "on"
            if pos >= hats_from + 8:
                p["hats"] = "closed"
        else:
            _groove(tr, p, snare=pos >= snare_from, hats="closed" if pos < hats_from + 8 else "full")
            if pos < hats_from:
                del p["hats"]
            if tr["perc"] and pos >= perc_from:
                p["perc"] = "on"
        if pos >= bass_from:
            p["bass"] = "filtered"
        if pos >= pad_bars:
            if pos % 8 == 7 and rng.random() < tr["fill_p"] * (1.5 if pos == n - 1 else 1.0):
                x["fill"] = "snare" if rng.random() < 0.6 else "tom"
            if pos == pad_bars and pad_bars:
                x["crash"] = 0.7
            elif pos > 0 and (pos - pad_bars) % 16 == 0:
                x["crash"] = 0.4
        out.append((p, x))
    return out


def buildup(n: int, variant: str, tr: dict[str, Any], rng: np.random.Generator, events: list[tuple[int, str]],
            gap: float) -> list[tuple[Parts, dict[str, Any]]]:
    """Bars of a buildup; the fake-drop variant restarts the build halfway."""
    if variant == "fake":
        first = buildup(n // 2, "classic", tr, rng, events, 0.0)
        events.append((n // 2, "fake_drop"))
        fake: list[tuple[Parts, dict[str, Any]]] = [
            ({"kick": "one", "bass": "hit", "vocal": "shout" if tr["vocal"] else "", "pad": "on"}, {"crash": 0.8}),
            ({"pad": "on", "lead": "soft" if tr["lead"] != "none" else ""}, {})]
        later: list[tuple[int, str]] = []
        rest = buildup(n - n // 2 - 2, "classic", tr, rng, later, gap)
        events.extend((b + n // 2 + 2, w) for b, w in later)
        return first + fake + rest
    k_back = n if variant == "kick_roll" else (int(rng.choice([2, 4])) if n >= 8 else 1)
    if k_back < n:
        events.append((n - k_back, "kick_back"))
    out = []
    for pos in range(n):
        q = 4 * pos // n
        p: Parts = {"riser": "up"}
        if rng.random() < 0.75 or pos >= n - k_back:
            p["pad"] = "on"
        if tr["lead"] != "none":
            p["lead"] = "filtered"
        if tr["chords"] != "none" and pos >= n // 2:
            p["chords"] = "filtered"
        if pos < n // 2 and rng.random() < 0.5:
            p["bass"] = "filtered"
        if tr["vocal"] and tr["vocal_style"] == "chops" and pos >= n // 2:
            p["vocal"] = "chops"
        x: dict[str, Any] = {"roll": (1, 2, 4, 4)[q] if variant == "classic" else (0, 0, 2, 4)[q]}
        if pos >= n - k_back:
            if variant == "kick_roll":
                p["kick"] = ("q4", "q4", "q8", "q16")[q] if n >= 4 else "q16"
            else:
                p["kick"] = "q4" if pos < n - 1 else "q8"
            p["hats"] = "closed"
        if pos == n - 1:
            x["cut_beat"] = 4.0 - gap
            if gap and tr["vocal"] and rng.random() < 0.4:
                p["vocal"] = "shout"
        out.append((p, x))
    return out


def drop(n: int, variant: str, tr: dict[str, Any], rng: np.random.Generator, events: list[tuple[int, str]],
         ) -> list[tuple[Parts, dict[str, Any]]]:
    vocal_from = n
    if tr["vocal"]:
        vocal_from = int(rng.choice([0, n // 2] if n >= 16 else [0]))
        if vocal_from:
            events.append((vocal_from, "vocal_enters"))
    out = []
    for pos in range(n):
        alt = variant == "alt" or (tr["drop_b_half"] and pos >= n // 2)
        p = _groove(tr, {}, bass="alt" if alt else "full")
        if tr["perc"]:
            p["perc"] = "on"
        if tr["loop"]:
            p["loop"] = "on"
        if tr["chords"] != "none":
            p["chords"] = "full"
        if tr["lead"] != "none":
            p["lead"] = "alt" if (pos // 8) % 2 == 1 or alt else "full"
        if tr["pad_in_drop"]:
            p["pad"] = "on"
        if pos >= vocal_from:
            p["vocal"] = tr["vocal_style"]
        x: dict[str, Any] = {}
        if pos == 0:
            x["crash"], x["impact"] = 1.0, tr["impact"]
        elif pos % tr["crash_every"] == 0:
            x["crash"] = 0.5
        if pos % 8 == 7 and pos < n - 1 and rng.random() < tr["fill_p"]:
            x["fill"] = "snare" if rng.random() < 0.5 else "tom"
        elif pos % 4 == 3 and rng.random() < 0.3:
            x["fill"] = "kick_drop"
        out.append((p, x))
    return out


def breakdown(n: int, variant: str, tr: dict[str, Any], rng: np.random.Generator, events: list[tuple[int, str]],
              ) -> list[tuple[Parts, dict[str, Any]]]:
    mid = n // 2 if n >= 8 else 0
    lead_from = mid if variant == "lead_mid" else (0 if rng.random() < 0.4 else n)
    vocal_from = mid if variant == "vocal_mid" else n
    if variant == "lead_mid" and tr["lead"] != "none":
        events.append((mid, "lead_enters"))
    if variant == "vocal_mid":
        events.append((mid, "vocal_enters"))
    hats_from = n - 8 if n >= 16 and rng.random() < 0.3 else n
    long_bass = rng.random() < 0.3
    out = []
    for pos in range(n):
        p: Parts = {"pad": "swell" if pos == 0 else "on"}
        if tr["atmos"]:
            p["atmos"] = "on"
        if tr["chords"] != "none" or rng.random() < 0.5:
            p["chords"] = "soft"
        if pos >= lead_from and tr["lead"] != "none":
            p["lead"] = "soft"
        if pos >= vocal_from:
            p["vocal"] = "phrase"
        if variant == "quiet_kick":
            p["kick"] = "quiet"
        if pos >= hats_from:
            p["hats"] = "closed"
        if long_bass:
            p["bass"] = "long"
        x: dict[str, Any] = {"crash": 0.8} if pos == 0 else {}
        out.append((p, x))
    return out


def outro(n: int, variant: str, tr: dict[str, Any], rng: np.random.Generator, events: list[tuple[int, str]],
          ) -> list[tuple[Parts, dict[str, Any]]]:
    bass_until = 8 if variant == "fade" or (n >= 16 and rng.random() < 0.4) else 0
    if variant == "fade":
        bass_until = n
        events.append((max(0, n - 16), "fade_out"))
    tail = 8 if variant == "pad_tail" and n >= 16 else 0
    if tail:
        events.append((n - tail, "drums_out"))
    out = []
    for pos in range(n):
        p: Parts = {}
        if pos < n - tail:
            _groove(tr, p, snare=pos < n // 2 or variant == "fade",
                    hats="full" if pos < n - 8 or variant == "fade" else "closed",
                    bass="full" if pos < bass_until else "")
            if tr["perc"] and (pos < n - 8 or variant == "fade"):
                p["perc"] = "on"
        else:
            p["pad"] = "swell" if pos == n - tail else "on"
            if tr["atmos"]:
                p["atmos"] = "on"
        x: dict[str, Any] = {"crash": 0.6} if pos == 0 else {}
        if pos % 8 == 7 and pos < n - 1 and pos < n - tail and rng.random() < tr["fill_p"] * 0.6:
            x["fill"] = "snare"
        out.append((p, x))
    return out


def plan_track(rng: np.random.Generator, genre: str, pool: str, *, short: bool = False) -> Plan:
    """Draw the complete arrangement of one track of ``genre`` for ``pool``."""
    g, bpm, template, labels, lengths = draw_frame(rng, genre, pool, short)
    tr = draw_traits(rng, pool, g)
    sections: list[Section] = []
    bars: list[Bar] = []
    auto: list[Automation] = []
    events: list[tuple[int, str]] = []
    start = 0
    for i, (lab, n) in enumerate(zip(labels, lengths, strict=True)):
        label = lab.rstrip("!")
        local: list[tuple[int, str]] = []
        gap = 0.0
        if label == "buildup":
            variant = "fake" if lab.endswith("!") else ("pickup" if n <= 4 else _choice(rng, VARIANTS["buildup"]))
            gap = float(tr["gap"] if rng.random() < 0.8 else 0)
            content = buildup(n, "classic" if variant == "pickup" else variant, tr, rng, local, gap)
            spans = [(0, n // 2), (n // 2 + 2, n)] if variant == "fake" else [(0, n)]
            backs = sorted(b for b, w in local if w == "kick_back")
            for a, b in spans:  # the music opens up; the drums thin out until the kick is back; louder to the end
                end = b - (gap / 4 if b == n else 0.0)
                auto.append(Automation("master", "gain", start + a, start + end, float(rng.uniform(-8, -4)), 0.0))
                auto.append(Automation("music", "lp", start + a, start + end, float(rng.uniform(350, 900)), 18000.0))
                back = next((k for k in backs if a < k <= b), b)
                if back - a >= 2:
                    auto.append(Automation("drums", "hp", start + a, start + back, 20.0, float(rng.uniform(150, 450))))
        elif label == "drop":
            variant = "alt" if i > 0 and labels[i - 1] == "drop" else "main"
            content = drop(n, variant, tr, rng, local)
        elif label == "intro":
            variant = _choice(rng, VARIANTS["intro"])
            content = intro(n, variant, tr, rng, local)
            pads = next((b for b, w in local if w == "drums_enter"), 0)
            if pads:
                auto.append(Automation("master", "gain", start, start + pads, *(2 * [float(rng.uniform(-10, -6))])))
            auto.append(Automation("master", "gain", start + pads, start + n, *(2 * [float(rng.uniform(-2.5, 0))])))
            bass_bars = [k for k, (p, _) in enumerate(content) if p.get("bass") == "filtered"]
            if bass_bars:
                auto.append(Automation("bass", "lp", start + bass_bars[0], start + n, 250.0, 1200.0))
        elif label == "breakdown":
            variant = _choice(rng, VARIANTS["breakdown"])
            content = breakdown(n, variant, tr, rng, local)
            auto.append(Automation("master", "gain", start, start + n, *(2 * [float(rng.uniform(-8, -4))])))
        else:
            variant = _choice(rng, VARIANTS["outro"]) if i == len(labels) - 1 else "drums"
            content = outro(n, variant, tr, rng, local)
            auto.append(Automation("master", "gain", start, start + n, *(2 * [float(rng.uniform(-2.5, 0))])))
            if variant == "fade":
                fade = min(16, n)
                auto.append(Automation("master", "gain", start + n - fade, start + n, 0.0, -45.0))
        assert len(content) == n, (label, variant, len(content), n)
        sections.append(Section(label, start, n, variant, gap))
        for pos, (parts, extra) in enumerate(content):
            items = tuple(sorted((k, v) for k, v in parts.items() if v))
            bars.append(Bar(start + pos, i, pos, items, **extra))
        events.extend((start + b, w) for b, w in local if 0 < b < n)  # at a section start it is no event
        start += n
    r = rng.random()
    offset_s = float(rng.uniform(0.2, 2.5)) if r < 0.4 else (float(rng.uniform(0.005, 0.05)) if r < 0.6 else 0.0)
    tr["template_labels"] = labels
    return Plan(g, bpm, template, round(offset_s, 4), float(rng.uniform(2.0, 3.5)), tuple(sections), tuple(bars),
                tuple(auto), tuple(sorted(events)), tr)
