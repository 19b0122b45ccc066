"""Render one sampled track: plan -> sounds -> stems -> buses -> effects -> master, plus truth.

Everything random comes from ``numpy.random.SeedSequence([seed, index, pool_id])``, spawned into
the plan, the sound choice and the mix, so the same ``(seed, index, pool)`` gives the same samples
on every run and in every process (FluidSynth instances are private to the track).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from djstruct.errors import DjstructError
from djstruct.synth.sampled import fx
from djstruct.synth.sampled.genres import genre_for
from djstruct.synth.sampled.kits import SoundSet, choose_sounds
from djstruct.synth.sampled.master import MasterSettings, master
from djstruct.synth.sampled.mixer import RENDER_ORDER, STEMS, Mixer, kick_times
from djstruct.synth.sampled.parts import Material, draw_material
from djstruct.synth.sampled.plan import Plan
from djstruct.synth.sampled.registry import POOLS, check_pool, require
from djstruct.synth.sampled.sections import plan_track
from djstruct.synth.sampled.voices import VoiceBank

logger = logging.getLogger(__name__)

SR = 44100
ENGINE = "sampled"


def track_name(seed: int, index: int, pool: str = "train") -> str:
    """File stem of a sampled corpus track, e.g. ``sampled-heldout-7-003-ukg``."""
    return f"sampled-{pool}-{seed}-{index:03d}-{genre_for(pool, seed, index)}"


def draw_style(rng: np.random.Generator, plan: Plan) -> dict[str, Any]:
    """Per-track mix choices (levels, drive, side-chain, sends, reverb and master settings)."""
    g, tr = plan.genre, plan.traits
    return {
        "levels": {k: float(rng.uniform(-2.0, 2.0)) for k in STEMS},
        "kick_drive": 3.5 if g.distort_kick else (float(rng.uniform(0.3, 1.2)) if rng.random() < 0.3 else 0.0),
        "bass_style": tr["bass"], "bass_drive": float(rng.uniform(1.0, 2.5)),
        "wobble_beats": float(rng.choice([0.5, 0.25, 1 / 3, 1.0])), "width": float(rng.uniform(0.6, 1.4)),
        "loop_index": int(rng.integers(2)),
        "rumble_ir": fx.impulse_response(rng, float(rng.uniform(0.5, 1.1)), 0.01, 400.0),
        "duck_depth": float(rng.uniform(0.35, 0.85)), "duck_release": float(rng.uniform(0.45, 0.9)),
        "rev_scale": float(rng.uniform(0.6, 1.5)), "dly_scale": float(rng.uniform(0.0, 1.4)),
        "ir": fx.impulse_response(rng, float(rng.uniform(0.9, 3.2)), float(rng.uniform(0.005, 0.04)),
                                  float(rng.uniform(2500, 5000))),
        "delay_beats": float(rng.choice([0.75, 0.5, 1.0])), "feedback": float(rng.uniform(0.25, 0.45)),
        "return_db": float(rng.uniform(-6.0, -1.0)), "riser_db": float(rng.uniform(-17.0, -12.0)),
        "master": MasterSettings(
            glue_threshold_db=float(rng.uniform(-18, -10)), glue_ratio=float(rng.uniform(2.0, 4.0)),
            target_lufs=float(rng.uniform(-8.0, -6.0)), ceiling_dbfs=float(rng.uniform(-1.0, -0.1)),
            limiter_release_ms=float(rng.uniform(20, 80)), clip_drive=float(rng.uniform(1.8, 3.5))),
    }


def _samples(plan: Plan, beat: float) -> int:
    return int(round(plan.beat_time(beat) * SR))


def _duck_env(plan: Plan, mat: Material, n: int, style: dict[str, Any]) -> np.ndarray:
    env = np.ones(n, dtype=np.float32)
    shape = fx.duck_shape(plan.beat_s, style["duck_depth"], style["duck_release"])
    for b in kick_times(plan, mat):
        s = _samples(plan, b)
        e = min(n, s + len(shape))
        if s < e:
            np.minimum(env[s:e], shape[: e - s], out=env[s:e])
    return env


def _automate(plan: Plan, buf: np.ndarray, a: int, target: str) -> None:
    """Apply ``plan``'s automation of ``target`` to ``buf`` (a segment that starts at sample ``a``)."""
    for au in plan.automation:
        if au.target != target:
            continue
        s0, s1 = _samples(plan, 4 * au.bar0) - a, _samples(plan, 4 * au.bar1) - a
        if au.kind == "gain":
            fx.gain_ramp(buf, s0, s1, au.v0, au.v1)
        else:
            fx.sweep(buf, s0, s1, au.kind, au.v0, au.v1)


def _gaps(plan: Plan) -> list[tuple[int, int]]:
    out = []
    for bar in plan.bars:
        if bar.cut_beat < 4.0:
            out.append((_samples(plan, 4 * bar.index + bar.cut_beat), _samples(plan, 4 * (bar.index + 1))))
    return out


def _silence(buf: np.ndarray, gaps: list[tuple[int, int]]) -> None:
    nf = int(0.004 * SR)
    for s0, s1 in gaps:
        buf[:, s0: s0 + nf] *= np.linspace(1.0, 0.0, min(nf, buf.shape[1] - s0), dtype=np.float32)[None, :]
        buf[:, s0 + nf: s1] = 0.0


def _effects(plan: Plan, mixer: Mixer, sounds: SoundSet, bank: VoiceBank, rng: np.random.Generator,
             mix: np.ndarray, style: dict[str, Any]) -> None:
    """Risers into drops, reverse crashes onto them, downlifters after them; into ``mix`` and the sends."""
    n = mix.shape[1]
    level = np.float32(10 ** (style["riser_db"] / 20))
    crash = bank.play(sounds.drums["crash"][0], None, 0, 0.9)
    if any(s.label == "drop" for s in plan.sections[1:]):
        mixer.roles.add("crash")
    for i, sec in enumerate(plan.sections):
        start = _samples(plan, 4 * sec.start_bar)
        if sec.label == "buildup":
            b0 = sec.start_bar + (sec.n_bars // 2 if sec.n_bars >= 16 and rng.random() < 0.5 else 0)
            s0, s1 = _samples(plan, 4 * b0), _samples(plan, 4 * sec.end_bar - sec.gap_beats)
            if s1 - s0 > SR:
                x = fx.noise_riser(rng, s1 - s0) * level
                mix[:, s0:s1] += x
                mixer.send(s0, x, 0.4, 0.0)
        if sec.label == "drop" and i > 0:
            length = int(min(crash.shape[1], (4 if rng.random() < 0.5 else 2) * plan.beat_s * SR))
            rev = fx.reverse(crash, length) * np.float32(0.5)
            mix[:, max(0, start - length): start] += rev[:, length - min(length, start):]
            sweep = sounds.fx["sweep"]
            if rng.random() < 0.5:
                mixer.roles.add("sweep")
                sw = bank.play(sweep, sweep.root, int(2 * plan.beat_s * SR), 0.8)
                sw = np.ascontiguousarray(sw[:, ::-1]) * np.float32(0.4)
                a = max(0, start - sw.shape[1])
                mix[:, a:start] += sw[:, sw.shape[1] - (start - a):]
        if sec.label == "breakdown" and i > 0 and plan.sections[i - 1].label == "drop":
            m = min(n - start, int(4 * sec.n_bars // 4 * plan.beat_s * SR), int(8 * plan.beat_s * SR))
            if m > SR // 2:
                x = fx.noise_riser(rng, m, up=False) * level * np.float32(0.8)
                mix[:, start:start + m] += x
                mixer.send(start, x, 0.5, 0.0)


def render_plan(plan: Plan, mat: Material, sounds: SoundSet, rng: np.random.Generator,
                ) -> tuple[np.ndarray, float, set[str], int]:
    """Audio ``(n, 2)`` float32 of a planned track, its integrated loudness (LUFS), the sound roles it
    played and the break loop it used."""
    style = draw_style(rng, plan)
    n = int(round((plan.end_s + plan.tail_s) * SR))
    bank = VoiceBank()
    try:
        mixer = Mixer(plan, mat, sounds, bank, rng, n, style)
        duck = _duck_env(plan, mat, n, style)
        buses = {k: np.zeros((2, n), dtype=np.float32) for k in ("drums", "hard", "soft")}
        vocal_seg = None
        for stem in RENDER_ORDER:
            res = mixer.stem(stem)
            if res is None:
                continue
            a, seg = res
            _automate(plan, seg, a, stem)
            if stem == "vocal":  # added after the pre-drop gaps are cut: a shout may sit in one
                seg *= (1.0 - 0.6 * (1.0 - duck[a: a + seg.shape[1]]))[None, :]
                vocal_seg = (a, seg)
                continue
            buses[STEMS[stem].bus][:, a: a + seg.shape[1]] += seg
        mix = buses.pop("drums")
        _automate(plan, mix, 0, "drums")
        music = buses.pop("hard")
        music *= duck[None, :]
        soft = buses.pop("soft")
        soft *= (1.0 - 0.6 * (1.0 - duck))[None, :]
        music += soft
        del soft
        _automate(plan, music, 0, "music")
        mix += music
        del music
        _effects(plan, mixer, sounds, bank, rng, mix, style)
        wet = fx.reverb_delay(mixer.send_rev, mixer.send_dly, style["ir"], style["delay_beats"] * plan.beat_s,
                              style["feedback"], n)
        wet *= (1.0 - 0.5 * (1.0 - duck))[None, :] * np.float32(10 ** (style["return_db"] / 20))
        mix += wet
        del wet
        gaps = _gaps(plan)
        _silence(mix, gaps)
        if vocal_seg is not None:
            a, seg = vocal_seg
            mix[:, a: a + seg.shape[1]] += seg
        _automate(plan, mix, 0, "master")
        tail = int(0.4 * SR)
        mix[:, n - tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)[None, :]
        audio, lufs = master(mix, style["master"])
        if not np.isfinite(lufs) or not np.all(np.isfinite(audio)):
            raise DjstructError(None, f"sampled track rendered non-finite samples ({plan.genre.name}, {plan.template})")
    finally:
        bank.close()
    return audio, lufs, mixer.roles, style["loop_index"]


def render_track(seed: int, index: int, pool: str = "train", *, short: bool = False,
                 ) -> tuple[np.ndarray, dict[str, Any]]:
    """Render track ``index`` of sampled corpus ``seed`` from sound pool ``pool``.

    Returns ``(audio, truth)`` like :func:`djstruct.synth.render_track`: audio ``(n, 2)`` float32 at
    44.1 kHz, mastered to -8..-6 LUFS; truth with the same keys (genre, bpm, offset_s, duration_s,
    beats, downbeats, sections, drops) plus ``engine``, ``pool``, ``template``, ``section_variants``,
    ``events`` (changes inside sections, not boundaries), ``sources``, ``sounds`` and
    ``loudness_lufs``. ``short=True``: the classic template with 8-bar sections (about 1-2 min).
    """
    check_pool(pool)
    require(pool)
    t0 = time.perf_counter()
    plan_ss, sound_ss, mix_ss = np.random.SeedSequence([seed, index, POOLS.index(pool)]).spawn(3)
    rng = np.random.default_rng(plan_ss)
    plan = plan_track(rng, genre_for(pool, seed, index), pool, short=short)
    mat = draw_material(rng, plan)
    sounds = choose_sounds(np.random.default_rng(sound_ss), pool)
    audio, lufs, roles, loop_index = render_plan(plan, mat, sounds, np.random.default_rng(mix_ss))
    truth = plan.truth(audio.shape[0] / SR)
    truth.update(engine=ENGINE, pool=pool, sources=sounds.sources(roles), sounds=sounds.idents(roles, loop_index),
                 loudness_lufs=round(lufs, 2))
    logger.debug("rendered sampled %s %d/%d (%s, %.2f BPM, %s, %.1f s) in %.2f s", pool, seed, index,
                 plan.genre.name, plan.bpm, plan.template, truth["duration_s"], time.perf_counter() - t0)
    return audio, truth
