"""The sound catalogue of each pool and the choice of one track's sounds from it.

``train``: drums, effects, atmospheres and pitched bass hits from Sonic Pi's samples; tonal
instruments from the MuseScore General presets listed in :data:`registry.MUSESCORE_PRESETS`.
``heldout``: drums from freepats' ``Drum_000`` patches and TimGM6mb's five drum kits; tonal
instruments from TimGM6mb and freepats' ``Tone_000``; effects from both. No file (or soundfont)
of one pool is in the other's catalogue (``tests/test_synth_sampled.py`` checks it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from djstruct.synth.sampled import registry as R
from djstruct.synth.sampled.voices import PITCH_CLASS, Voice, estimate_midi, load_sample

logger = logging.getLogger(__name__)

# -- train: Sonic Pi one-shots by drum role ------------------------------------------------------
SONIC_DRUMS: dict[str, tuple[str, ...]] = {
    "kick": ("bd_808", "bd_fat", "bd_gas", "bd_haus", "bd_klub", "bd_mehackit", "bd_pure", "bd_sone", "bd_tek",
             "bd_zome", "bd_zum", "drum_bass_hard", "drum_heavy_kick", "elec_hollow_kick", "elec_soft_kick"),
    "boom": ("bd_boom", "bd_808"),
    "snare": ("sn_dolf", "sn_dub", "sn_generic", "sn_zome", "drum_snare_hard", "drum_snare_soft", "elec_snare",
              "elec_hi_snare", "elec_lo_snare", "elec_mid_snare", "elec_filt_snare"),
    "clap": ("perc_snap", "perc_snap2", "elec_pop", "sn_dub", "elec_hi_snare"),
    "chat": ("drum_cymbal_closed", "drum_cymbal_pedal", "elec_tick", "perc_swash"),
    "ohat": ("drum_cymbal_open", "drum_cymbal_soft", "elec_cymbal"),
    "ride": ("drum_cymbal_soft", "elec_chime", "elec_triangle"),
    "crash": ("drum_cymbal_hard", "drum_splash_hard", "drum_splash_soft"),
    "perc": ("elec_blip", "elec_blip2", "elec_wood", "elec_bell", "elec_ping", "elec_plip", "elec_twip",
             "elec_beep", "drum_cowbell", "tabla_na", "tabla_te1", "tabla_ke1", "tabla_tas1", "glitch_perc1",
             "glitch_perc3", "elec_flip", "elec_twang"),
    "tom": ("drum_tom_lo_hard", "drum_tom_mid_hard", "drum_tom_hi_hard", "drum_tom_lo_soft", "drum_tom_mid_soft",
            "drum_tom_hi_soft", "elec_fuzz_tom"),
    "impact": ("misc_cineboom", "perc_impact1", "perc_impact2", "bd_boom"),
    "sweep": ("ambi_swoosh", "perc_swoosh", "vinyl_rewind", "ambi_dark_woosh", "vinyl_backspin"),
    "atmos": ("ambi_drone", "ambi_haunted_hum", "ambi_glass_hum", "ambi_lunar_land", "ambi_sauna",
              "ambi_glass_rub", "vinyl_hiss"),
}
SONIC_LOOPS: tuple[str, ...] = ("loop_amen", "loop_breakbeat")  # one bar each, cut at the downbeat
SONIC_BASS: tuple[str, ...] = ("bass_hit_c", "bass_hard_c", "bass_thick_c", "bass_voxy_hit_c", "bass_woodsy_c",
                               "bass_dnb_f", "glitch_bass_g")

# -- heldout: freepats patches and General-MIDI kit notes by drum role ----------------------------
FREEPATS_DRUMS: dict[str, tuple[str, ...]] = {
    "kick": ("035_Kick_1", "036_Kick_2"), "boom": ("035_Kick_1",),
    "snare": ("038_Snare_1", "040_Snare_2"), "clap": ("039_Clap_Hand", "026_Snap"),
    "chat": ("042_Hi-Hat_Closed", "044_Hi-Hat_Pedal"), "ohat": ("046_Hi-Hat_Open",),
    "ride": ("051_Cymbal_Ride_1", "053_Cymbal_Ride_Bell"),
    "crash": ("049_Cymbal_Crash_1", "057_Cymbal_Crash_2", "055_Cymbal_Splash", "052_Cymbal_Chinese"),
    "perc": ("037_Stick_Rim", "054_Tombourine", "056_Cow_Bell", "060_Bongo_High", "061_Bongo_Low",
             "062_Conga_High_1_Mute", "064_Conga_Low", "069_Cabasa", "070_Maracas", "075_Claves",
             "076_Wood_Block_1_High", "082_Shaker", "031_Sticks"),
    "tom": ("041_Tom_Low_2", "043_Tom_Low_1", "045_Tom_Mid_2", "047_Tom_Mid_1", "048_Tom_High_2", "050_Tom_High_1"),
}
GM_DRUMS: dict[str, tuple[int, ...]] = {
    "kick": (35, 36), "boom": (36,), "snare": (38, 40), "clap": (39,), "chat": (42, 44), "ohat": (46,),
    "ride": (51, 53), "crash": (49, 57, 55), "perc": (37, 54, 56, 60, 61, 62, 64, 69, 70, 75, 76, 82),
    "tom": (41, 43, 45, 47, 48, 50),
}
TIMGM_FX: dict[str, tuple[tuple[int, int, int], ...]] = {  # role -> (bank, preset, midi)
    "impact": ((0, 116, 36), (0, 47, 38), (0, 55, 48), (0, 118, 36)),
    "sweep": ((0, 119, 60), (0, 122, 60), (0, 125, 60), (0, 121, 72)),
    "atmos": ((0, 99, 48), (0, 122, 48), (0, 94, 48), (0, 91, 48)),
}
FREEPATS_FX: dict[str, tuple[str, ...]] = {
    "sweep": ("122_Seashore", "125_Helicopter"), "atmos": ("094_Halo_Pad", "088_New_Age", "122_Seashore"),
}
FREEPATS_TONAL: dict[str, tuple[str, ...]] = {
    "bass": ("032_Acoustic_Bass", "033_Finger_Bass"), "sub": ("080_Square_Wave",),
    "lead": ("080_Square_Wave", "084_Charang"), "keys": ("004_Electric_Piano_1_Rhodes", "000_Acoustic_Grand_Piano",
                                                         "016_Hammond_Organ"),
    "stab": ("061_Brass_Section", "005_Electric_Piano_2_Chorused_Yamaha_DX"),
    "pluck": ("046_Harp", "104_Sitar", "114_Steel_Drums", "013_Xylophone"),
    "pad": ("094_Halo_Pad", "095_Sweep_Pad", "048_String_Ensemble_1_Marcato", "088_New_Age"),
}
TONAL_ROLES: tuple[str, ...] = ("bass", "sub", "lead", "keys", "stab", "pluck", "pad")
DRUM_ROLES: tuple[str, ...] = tuple(GM_DRUMS)
FX_ROLES: tuple[str, ...] = ("impact", "sweep", "atmos")
VOCAL_ROLES: frozenset[str] = frozenset({"phrase", "chop", "shout"})


@dataclass(frozen=True)
class SoundSet:
    """The sounds of one track: a voice (or two layered) per drum role, one per tonal and effect
    role, the drum loops it may use, and its espeak-ng voice (``language+variant``)."""

    pool: str
    drums: dict[str, tuple[Voice, ...]]
    tonal: dict[str, Voice]
    fx: dict[str, Voice]
    loops: tuple[Voice, ...]
    speech_voice: str

    def idents(self, roles: set[str], loop_index: int = 0) -> dict[str, str]:
        """The sound behind every role in ``roles`` (the roles a track played), by role; layered drums
        are joined by ``" | "``."""
        out = {f"drum.{k}": " | ".join(v.ident for v in vs) for k, vs in self.drums.items() if k in roles}
        out.update({f"tonal.{k}": v.ident for k, v in self.tonal.items() if k in roles})
        out.update({f"fx.{k}": v.ident for k, v in self.fx.items() if k in roles})
        if "loop" in roles and self.loops:
            out["loop"] = self.loops[loop_index % len(self.loops)].ident
        if roles & VOCAL_ROLES:
            out["vocal"] = f"espeak-ng:{self.speech_voice}"
        return out

    def sources(self, roles: set[str]) -> list[str]:
        """Registry sources of the sounds in :meth:`idents`."""
        return sorted({part.split(":", 1)[0] for ident in self.idents(roles).values() for part in ident.split(" | ")})


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str]) -> str:
    return str(items[int(rng.integers(len(items)))])


def _sonic(stem: str, root_class: int | None = None, gain: float = 1.0) -> Voice:
    path = R.sonic_pi(stem)
    root = None if root_class is None else estimate_midi(load_sample(path), root_class)
    return Voice("sample", path, "sonic-pi", root=root, gain=gain, release_s=0.08)


def _train(rng: np.random.Generator) -> SoundSet:
    drums = {}
    for role in DRUM_ROLES:
        first = _sonic(_pick(rng, SONIC_DRUMS[role]))
        layered = role in ("kick", "snare", "clap") and rng.random() < 0.35
        drums[role] = (first, _sonic(_pick(rng, SONIC_DRUMS[role]), gain=0.6)) if layered else (first,)
    ms = R.source_path("musescore")
    by_role: dict[str, list[tuple[int, int]]] = {}
    for bp, role in R.MUSESCORE_PRESETS.items():
        by_role.setdefault(role, []).append(bp)
    tonal: dict[str, Voice] = {}
    for role in TONAL_ROLES:
        cands = by_role.get(role, by_role["lead"] if role == "keys" else by_role["pad"])
        if role == "bass" and rng.random() < 0.3:
            stem = _pick(rng, SONIC_BASS)
            tonal[role] = _sonic(stem, PITCH_CLASS[stem.rsplit("_", 1)[1][0]])
            continue
        bank, preset = cands[int(rng.integers(len(cands)))]
        tonal[role] = Voice("sf", ms, "musescore", bank, preset, release_s=0.3 if role in ("pad", "keys") else 0.12)
    fx = {role: _sonic(_pick(rng, SONIC_DRUMS[role])) for role in FX_ROLES}
    loops = tuple(_sonic(s) for s in SONIC_LOOPS)
    return SoundSet("train", drums, tonal, fx, loops, _speech(rng, "train"))


def _heldout(rng: np.random.Generator) -> SoundSet:
    tim = R.source_path("timgm6mb")
    kit = int(rng.choice(R.TIMGM_KITS))
    drums: dict[str, tuple[Voice, ...]] = {}
    for role in DRUM_ROLES:
        if rng.random() < 0.5:
            v = Voice("gus", R.freepats("Drum_000", _pick(rng, FREEPATS_DRUMS[role])), "freepats")
        else:
            notes = GM_DRUMS[role]
            v = Voice("sf", tim, "timgm6mb", 128, kit, note=int(notes[int(rng.integers(len(notes)))]))
        drums[role] = (v,)
    by_role: dict[str, list[tuple[int, int]]] = {}
    for bp, role in R.TIMGM_PRESETS.items():
        by_role.setdefault(role, []).append(bp)
    tonal: dict[str, Voice] = {}
    for role in TONAL_ROLES:
        rel = 0.3 if role in ("pad", "keys") else 0.12
        if role in FREEPATS_TONAL and rng.random() < 0.35:
            tonal[role] = Voice("gus", R.freepats("Tone_000", _pick(rng, FREEPATS_TONAL[role])), "freepats",
                                release_s=rel)
            continue
        cands = by_role.get(role, by_role["lead"] if role == "sub" else by_role["pad"])
        bank, preset = cands[int(rng.integers(len(cands)))]
        tonal[role] = Voice("sf", tim, "timgm6mb", bank, preset, release_s=rel)
    fx: dict[str, Voice] = {}
    for role in FX_ROLES:
        if role in FREEPATS_FX and rng.random() < 0.4:
            fx[role] = Voice("gus", R.freepats("Tone_000", _pick(rng, FREEPATS_FX[role])), "freepats", release_s=0.5)
        else:
            bank, preset, midi = TIMGM_FX[role][int(rng.integers(len(TIMGM_FX[role])))]
            fx[role] = Voice("sf", tim, "timgm6mb", bank, preset, root=midi, release_s=0.5)
    return SoundSet("heldout", drums, tonal, fx, (), _speech(rng, "heldout"))


def _speech(rng: np.random.Generator, pool: str) -> str:
    return f"{_pick(rng, R.ESPEAK_VOICES[pool])}+{_pick(rng, R.ESPEAK_VARIANTS[pool])}"


def choose_sounds(rng: np.random.Generator, pool: str) -> SoundSet:
    """Draw one track's sounds from ``pool``'s catalogue (see the module docstring)."""
    R.require(pool)
    return _train(rng) if pool == "train" else _heldout(rng)


def catalogue_files(pool: str) -> set[str]:
    """Every sound file (soundfont presets as ``file#bank:preset``) ``pool`` can draw, for the
    disjointness test; paths are relative to the sound root."""
    if pool == "train":
        files = {f"sonic-pi/{s}" for v in SONIC_DRUMS.values() for s in v}
        files |= {f"sonic-pi/{s}" for s in (*SONIC_LOOPS, *SONIC_BASS)}
        files |= {f"{Path(R.SOURCES['musescore'].path).name}#{b}:{p}" for b, p in R.MUSESCORE_PRESETS}
        return files
    files = {f"freepats/Drum_000/{s}" for v in FREEPATS_DRUMS.values() for s in v}
    files |= {f"freepats/Tone_000/{s}" for d in (FREEPATS_FX, FREEPATS_TONAL) for v in d.values() for s in v}
    tim = Path(R.SOURCES["timgm6mb"].path).name
    files |= {f"{tim}#128:{k}" for k in R.TIMGM_KITS}
    files |= {f"{tim}#{b}:{p}" for b, p in R.TIMGM_PRESETS}
    files |= {f"{tim}#{b}:{p}" for v in TIMGM_FX.values() for b, p, _ in v}
    return files
