"""Where the recorded sounds of the sampled engine live, which Debian package ships them, their
licence, and which pool (``train`` or ``heldout``) each one belongs to.

Nothing is committed: every sound is found at run time under its Debian path. A missing package
raises :class:`MissingSoundError` naming the package to install. The MuseScore General soundfont
is a fork of FluidR3Mono, and FluidR3 is reserved for independent evaluation, so only the presets
whose samples its own credits file (``MuseScore_General_HQ_Sample_Sources.csv``) attributes to
someone else (S. Christian Collins, AKAI, VSCO/VCSL) are ever selected: :data:`MUSESCORE_PRESETS`.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from djstruct.errors import ConfigError, DjstructError

logger = logging.getLogger(__name__)

POOLS: tuple[str, ...] = ("train", "heldout")
# Root override for tests/containers that install the packages elsewhere (a prefix before /usr).
ROOT_ENV = "DJSTRUCT_SOUND_ROOT"


class MissingSoundError(DjstructError):
    """A Debian sound package (or program) the sampled engine needs is not installed."""


@dataclass(frozen=True)
class SoundSource:
    """One installed collection of recorded sounds.

    ``path`` is the file or folder the engine reads (relative to ``/``); ``pool`` is the pool that
    may use it; ``licence`` is what ``/usr/share/doc/<package>/copyright`` says.
    """

    name: str
    package: str
    path: str
    pool: str
    licence: str
    installed_kib: int  # dpkg Installed-Size of the package (Debian 12), KiB


SOURCES: dict[str, SoundSource] = {s.name: s for s in (
    SoundSource("sonic-pi", "sonic-pi-samples", "usr/share/sonic-pi/samples", "train",
                "CC0-1.0 (every sample, from freesound.org)", 22987),
    SoundSource("musescore", "musescore-general-soundfont", "usr/share/sounds/sf3/MuseScore_General_Full.sf3",
                "train", "MIT; the presets used: CC0 / public domain / MIT (S. Christian Collins, AKAI, VSCO)",
                83998),
    SoundSource("timgm6mb", "timgm6mb-soundfont", "usr/share/sounds/sf2/TimGM6mb.sf2", "heldout",
                "GPL-2 (Tim Brechbill)", 6073),
    SoundSource("freepats", "freepats", "usr/share/midi/freepats", "heldout",
                "GPL-2-or-later with a composition exception", 32646),
    SoundSource("espeak-ng", "espeak-ng", "usr/bin/espeak-ng", "both",
                "GPL-3-or-later (program and voice data); voices split by pool", 1059 + 11782),
)}

# (bank, preset) -> role, for the MuseScore General presets whose samples are NOT FluidR3Mono's.
MUSESCORE_PRESETS: dict[tuple[int, int], str] = {
    # (0, 0) Grand Piano (AKAI, public domain) is allowed too but not used: decoding its 94 MB of
    # samples costs about 1.2 s per track.
    (0, 5): "keys",  # FM Electric Piano (Collins)
    (0, 38): "bass", (0, 39): "bass", (8, 38): "bass",  # Synth Bass 1/2/3
    (0, 87): "bass",  # Bass & Lead
    (8, 80): "sub",  # Sine Wave
    (0, 80): "lead", (0, 81): "lead", (0, 86): "lead",  # Square / Saw / 5th Saw
    (0, 62): "stab", (0, 63): "stab", (8, 62): "stab", (8, 63): "stab",  # Synth Brass 1-4
    (0, 90): "stab",  # Polysynth
    (0, 98): "pluck", (0, 88): "pluck",  # Crystal, Fantasia
    # (0, 48) Strings Fast (VSCO, CC0) and (8, 50) Synth Strings 3 are allowed too but not used: loading
    # them costs 4.7 s and 1.1 s per track.
    (0, 50): "pad", (0, 51): "pad",  # Synth Strings 1-2
    (0, 92): "pad", (0, 95): "pad", (0, 97): "pad",  # Bowed Glass, Sweep Pad, SoundTrack
}

# (bank, preset) -> role for TimGM6mb (heldout). Drum kits are bank 128.
TIMGM_PRESETS: dict[tuple[int, int], str] = {
    (0, 38): "bass", (0, 39): "bass", (0, 33): "bass", (0, 36): "bass", (0, 87): "bass",
    (0, 80): "lead", (0, 81): "lead", (0, 84): "lead", (0, 86): "lead",
    (0, 4): "keys", (0, 5): "keys", (0, 1): "keys", (0, 16): "keys",
    (0, 90): "stab", (0, 62): "stab", (0, 61): "stab", (0, 55): "stab",
    (0, 108): "pluck", (0, 98): "pluck", (0, 11): "pluck", (0, 46): "pluck",
    (0, 89): "pad", (0, 91): "pad", (0, 94): "pad", (0, 95): "pad", (0, 50): "pad", (0, 49): "pad",
    (0, 52): "pad",
}
TIMGM_KITS: tuple[int, ...] = (0, 8, 16, 24, 25)  # Standard, Room, Power, Electronic, TR 808

# espeak-ng voices (language codes) and variants, split between the pools.
ESPEAK_VOICES: dict[str, tuple[str, ...]] = {
    "train": ("en-gb", "en-us", "de", "es", "it", "nl"),
    "heldout": ("fr", "sv", "pt", "pl"),
}
ESPEAK_VARIANTS: dict[str, tuple[str, ...]] = {
    "train": ("f1", "f2", "f3", "m1", "m2", "m3", "whisperf"),
    "heldout": ("f4", "f5", "m4", "m5", "klatt"),
}


def _root() -> Path:
    return Path(os.environ.get(ROOT_ENV, "/"))


def source_path(name: str) -> Path:
    """The installed path of source ``name``; :class:`MissingSoundError` naming its package if absent."""
    src = SOURCES[name]
    path = _root() / src.path
    if name == "espeak-ng":
        found = shutil.which("espeak-ng")
        if found:
            return Path(found)
    if not path.exists():
        raise MissingSoundError(path, f"{src.name} sounds are missing: install the Debian package "
                                      f"{src.package} (apt-get install {src.package})")
    return path


def sonic_pi(stem: str) -> Path:
    """One Sonic Pi sample by file stem, e.g. ``sonic_pi("bd_haus")``."""
    path = source_path("sonic-pi") / f"{stem}.flac"
    if not path.is_file():
        raise MissingSoundError(path, "sample missing from sonic-pi-samples (reinstall the package)")
    return path


def freepats(kind: str, stem: str) -> Path:
    """One freepats patch, ``kind`` ``"Drum_000"`` or ``"Tone_000"``, e.g. ``("Drum_000", "036_Kick_2")``."""
    path = source_path("freepats") / kind / f"{stem}.pat"
    if not path.is_file():
        raise MissingSoundError(path, "patch missing from freepats (reinstall the package)")
    return path


def pool_sources(pool: str) -> tuple[str, ...]:
    """Names of the sources pool ``pool`` may use."""
    check_pool(pool)
    return tuple(n for n, s in SOURCES.items() if s.pool in (pool, "both"))


def check_pool(pool: str) -> None:
    if pool not in POOLS:

        raise ConfigError(None, f"unknown sound pool {pool!r}; choose from {', '.join(POOLS)}")


@cache
def missing_packages(pool: str | None = None) -> tuple[str, ...]:
    """Debian packages the engine needs (for ``pool``, or both pools) that are not installed."""
    names = pool_sources(pool) if pool else tuple(SOURCES)
    out = []
    for n in names:
        try:
            source_path(n)
        except MissingSoundError:
            out.append(SOURCES[n].package)
    return tuple(out)


def require(pool: str) -> None:
    """Raise :class:`MissingSoundError` listing every package ``pool`` needs and lacks."""
    missing = missing_packages(pool)
    if missing:
        raise MissingSoundError(None, f"the sampled engine's {pool} pool needs the Debian package(s) "
                                      f"{', '.join(missing)} (apt-get install {' '.join(missing)})")
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as e:
        raise MissingSoundError(None, f"the sampled engine needs pyfluidsynth and libfluidsynth3 "
                                      f"(pip install pyfluidsynth; apt-get install libfluidsynth3): {e}") from e
