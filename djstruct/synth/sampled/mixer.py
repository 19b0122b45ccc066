"""Stems from bar events: each distinct bar of a stem is rendered once (with its inserts), then
copied to every bar that holds it; stems are levelled, side-chained and summed into the drum and
music buses, with reverb and delay sends collected at a quarter of the sample rate.

Bar ``i`` starts at sample ``round((offset_s + 4 i * 60 / bpm) * 44100)`` and its events at
``round(beat * 60 / bpm * 44100)`` after that, so every hit is within one sample of the grid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal

from djstruct.synth.sampled import fx, vocal
from djstruct.synth.sampled.kits import SoundSet
from djstruct.synth.sampled.parts import Event, Material, bar_events
from djstruct.synth.sampled.plan import Plan
from djstruct.synth.sampled.voices import VoiceBank, resample_pitch

logger = logging.getLogger(__name__)

SR = 44100


@dataclass(frozen=True)
class StemCfg:
    """Mix settings of a stem: bus ("drums"; "hard" or "soft": side-chained fully or at 60 %), sends,
    filters, Haas width and level."""

    bus: str
    rev: float
    dly: float
    hp_hz: float
    lp_hz: float
    width_ms: float
    level_db: float  # target RMS of its loudest bars, before mastering


STEMS: dict[str, StemCfg] = {
    "kick": StemCfg("drums", 0.02, 0.0, 25, 16000, 0, -10),
    "rumble": StemCfg("hard", 0.0, 0.0, 30, 160, 0, -17),
    "snare": StemCfg("drums", 0.18, 0.04, 110, 16000, 0, -15),
    "hats": StemCfg("drums", 0.05, 0.0, 4000, 18000, 0.4, -23),
    "perc": StemCfg("drums", 0.15, 0.2, 300, 16000, 0.6, -25),
    "loop": StemCfg("drums", 0.05, 0.0, 180, 16000, 0, -19),
    "cymbal": StemCfg("drums", 0.2, 0.0, 250, 18000, 0.3, -19),
    "fills": StemCfg("drums", 0.15, 0.0, 90, 16000, 0.3, -17),
    "bass": StemCfg("hard", 0.0, 0.0, 30, 3500, 0, -13),
    "sub": StemCfg("hard", 0.0, 0.0, 20, 140, 0, -15),
    "chords": StemCfg("soft", 0.25, 0.15, 200, 12000, 12, -19),
    "lead": StemCfg("soft", 0.25, 0.25, 250, 14000, 9, -18),
    "pad": StemCfg("soft", 0.4, 0.0, 150, 10000, 15, -20),
    "atmos": StemCfg("soft", 0.4, 0.0, 200, 12000, 18, -27),
    "vocal": StemCfg("soft", 0.3, 0.3, 160, 14000, 0, -17),
}
RENDER_ORDER: tuple[str, ...] = tuple(STEMS)


def kick_times(plan: Plan, mat: Material) -> list[float]:
    """Beats (from the first downbeat) of every kick that drives the side-chain."""
    out = []
    for bar in plan.bars:
        if bar.part("kick") in ("", "quiet"):
            continue
        out += [4.0 * bar.index + e[0] for e in bar_events("kick", bar, plan, mat)]
    return out


class Mixer:
    """Renders the stems of one track into buses (see the module docstring)."""

    def __init__(self, plan: Plan, mat: Material, sounds: SoundSet, bank: VoiceBank, rng: np.random.Generator,
                 n: int, style: dict[str, Any]) -> None:
        self.plan, self.mat, self.sounds, self.bank, self.n = plan, mat, sounds, bank, n
        self.rng, self.style = rng, style
        self.spb = plan.beat_s * SR
        self.bar_start = np.rint(np.array([plan.beat_time(4 * i) for i in range(plan.n_bars + 1)]) * SR).astype(
            np.int64)
        self.send_rev = np.zeros((2, n // fx.DECIM), dtype=np.float32)
        self.send_dly = np.zeros((2, n // fx.DECIM), dtype=np.float32)
        self.used: set[str] = set()
        self.roles: set[str] = set()  # every sound role the track played (for the truth's "sounds")

    # -- one event ---------------------------------------------------------------------------------
    def _event(self, role: str, midi: int | None, length: float, vel: float) -> np.ndarray:
        s = self.sounds
        self.roles.add(role)
        hold = int(length * self.spb)
        if role == "loop":
            loop = s.loops[self.style["loop_index"] % len(s.loops)]
            x = self.bank.play(loop)
            return resample_pitch(x, x.shape[1] / (4 * self.spb)) * np.float32(vel)
        if role in ("phrase", "chop", "shout"):
            return self._vocal(role, midi or 60, hold, vel)
        if role in s.drums:
            parts = [self.bank.play(v, None, 0, vel * (1.0 if i == 0 else 0.6)) for i, v in enumerate(s.drums[role])]
            m = max(p.shape[1] for p in parts)
            out = np.zeros((2, m), dtype=np.float32)
            for p in parts:
                out[:, : p.shape[1]] += p
            return out
        v = s.fx.get(role) or s.tonal[role]
        pitched = v.kind != "sample" or v.root is not None
        note = midi if role not in ("impact", "sweep") else v.root
        return self.bank.play(v, note if pitched else None, hold, vel)

    def _vocal(self, role: str, midi: int, hold: int, vel: float) -> np.ndarray:
        voice = self.sounds.speech_voice
        if role == "shout":
            y = vocal.phrase(voice, self.mat.shout, midi)
        elif role == "phrase":
            y = vocal.phrase(voice, self.mat.phrase, midi)[: max(hold, 1)]
        else:
            y = vocal.chop(voice, self.mat.phrase, [midi], [hold])[0]
        return np.stack([y, y]) * np.float32(vel)

    # -- one distinct bar ------------------------------------------------------------------------
    def chunk(self, stem: str, variant: str, events: tuple[Event, ...]) -> np.ndarray:
        pieces = []
        for beat, role, midi, length, vel in events:
            x = self._event(role, midi, length, vel)
            pieces.append((int(round(beat * self.spb)), x))
        m = max(a + x.shape[1] for a, x in pieces)
        buf = np.zeros((2, m), dtype=np.float32)
        for a, x in pieces:
            buf[:, a: a + x.shape[1]] += x
        return self._inserts(stem, variant, buf)

    def _inserts(self, stem: str, variant: str, buf: np.ndarray) -> np.ndarray:
        cfg, st = STEMS[stem], self.style
        bar = int(4 * self.spb)
        if stem == "kick":
            if st["kick_drive"] > 0:
                buf = np.tanh(buf * np.float32(1.0 + st["kick_drive"])).astype(np.float32)
            if variant == "quiet":
                buf = fx.filt(buf, "lp", 180.0) * np.float32(0.3)
            elif variant == "under":
                buf *= np.float32(0.45)
        elif stem == "rumble":
            ir = st["rumble_ir"]
            dry = fx.decimate(fx.filt(buf, "lp", 200.0))
            wet = np.stack([signal.oaconvolve(dry[c], ir[c])[: dry.shape[1] + ir.shape[1] // 2] for c in range(2)])
            buf = np.tanh(2.0 * fx.interpolate(wet.astype(np.float32), wet.shape[1] * fx.DECIM)).astype(np.float32)
        elif stem == "bass":
            if st["bass_style"] == "reese":
                det = resample_pitch(buf, 2 ** (14 / 1200))
                buf[:, : det.shape[1]] += det[:, : buf.shape[1]]
            if st["bass_style"] in ("wobble", "reese"):
                lp = fx.filt(buf, "lp", 250.0)
                rate = st["wobble_beats"] * self.spb
                lfo = 0.5 + 0.5 * np.cos(2 * np.pi * np.arange(buf.shape[1]) / rate).astype(np.float32)
                buf = lp + (buf - lp) * lfo[None, :]
            buf = np.tanh(buf * np.float32(st["bass_drive"])).astype(np.float32)
            if variant in ("filtered", "long"):
                buf = fx.filt(buf, "lp", 320.0 if variant == "filtered" else 500.0)
        elif stem in ("lead", "chords") and variant in ("filtered", "soft"):
            buf = fx.filt(buf, "lp", 1800.0 if variant == "filtered" else 3500.0) * np.float32(0.7)
        elif stem == "pad" and variant == "swell":
            k = min(buf.shape[1], bar)
            buf[:, :k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)[None, :] ** 2
        buf = fx.band(buf, cfg.hp_hz if cfg.hp_hz > 25 else None, cfg.lp_hz if cfg.lp_hz < 15000 else None)
        if cfg.width_ms > 0:  # Haas width: one side a few ms late
            d = int(cfg.width_ms * st["width"] * SR / 1000)
            side = int(self.rng.integers(2)) if stem in ("perc", "hats") else 1
            if 0 < d < buf.shape[1]:
                buf[side, d:] = buf[side, :-d].copy()
                buf[side, :d] = 0.0
        return buf

    # -- whole stems -------------------------------------------------------------------------------
    def stem(self, stem: str) -> tuple[int, np.ndarray] | None:
        """``(first sample, (2, m) levelled audio)`` of ``stem``, or None when it never plays. Its reverb
        and delay sends are added to :attr:`send_rev` / :attr:`send_dly` from the distinct bars,
        decimated once each."""
        chunks: dict[tuple[Any, ...], np.ndarray] = {}
        rms: dict[tuple[Any, ...], float] = {}
        placed: list[tuple[int, tuple[Any, ...]]] = []
        bar_len = int(4 * self.spb)
        for bar in self.plan.bars:
            ev = bar_events(stem, bar, self.plan, self.mat)
            if not ev:
                continue
            key = (bar.part(stem), ev)
            if key not in chunks:
                chunks[key] = self.chunk(stem, key[0], ev)
                head = chunks[key][:, :bar_len]
                rms[key] = float(np.sqrt(np.einsum("ij,ij->", head, head) / max(head.size, 1))) + 1e-9
            placed.append((int(self.bar_start[bar.index]), key))
        if not placed:
            return None
        loud = float(np.percentile([rms[k] for _, k in placed], 90))
        if loud < 1e-6:  # a sound that renders (nearly) silent: leave the stem out rather than amplify noise
            logger.debug("stem %s is silent: left out", stem)
            return None
        self.used.add(stem)
        gain = np.float32(10 ** ((STEMS[stem].level_db + self.style["levels"][stem]) / 20) / loud)
        a = placed[0][0]
        b = min(self.n, max(s + chunks[k].shape[1] for s, k in placed))
        seg = np.zeros((2, b - a), dtype=np.float32)
        for s, k in placed:
            x = chunks[k]
            e = min(b, s + x.shape[1])
            seg[:, s - a: e - a] += x[:, : e - s]
        seg *= gain
        cfg = STEMS[stem]
        rev, dly = cfg.rev * self.style["rev_scale"], cfg.dly * self.style["dly_scale"]
        if rev > 0 or dly > 0:
            small = {k: fx.decimate(x) * gain for k, x in chunks.items()}
            m_all = self.send_rev.shape[1]
            for s, k in placed:
                s4 = s // fx.DECIM
                x = small[k]
                m = min(x.shape[1], m_all - s4)
                if m <= 0:
                    continue
                if rev > 0:
                    self.send_rev[:, s4: s4 + m] += np.float32(rev) * x[:, :m]
                if dly > 0:
                    self.send_dly[:, s4: s4 + m] += np.float32(dly) * x[:, :m]
        return a, seg

    def send(self, a: int, seg: np.ndarray, rev: float, dly: float) -> None:
        """Add ``seg`` (starting at sample ``a``) to the reverb/delay sends at the given levels."""
        a4 = -(-a // fx.DECIM)
        x = fx.decimate(seg[:, a4 * fx.DECIM - a:])
        m = min(x.shape[1], self.send_rev.shape[1] - a4)
        if m <= 0:
            return
        if rev > 0:
            self.send_rev[:, a4: a4 + m] += np.float32(rev) * x[:, :m]
        if dly > 0:
            self.send_dly[:, a4: a4 + m] += np.float32(dly) * x[:, :m]
