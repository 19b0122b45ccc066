"""The sampled engine: realistic EDM rendered from recorded sounds that Debian packages ship, with
exact ground truth in the schema of :mod:`djstruct.synth` (``djstruct synth --engine sampled``).

``render_track(seed, index, pool="train", short=False) -> (audio (n, 2) float32 at 44.1 kHz, truth)``
mirrors :func:`djstruct.synth.render_track`. Sounds are found at run time under their Debian
paths (:mod:`~djstruct.synth.sampled.registry`); nothing is committed.

Leave-sources-out partition (``pool``):

============  ===============================================  ==============================================
what          ``train``                                        ``heldout`` (validation only: never trained on)
============  ===============================================  ==============================================
drums, FX     sonic-pi-samples one-shots and two break loops   freepats ``Drum_000`` patches, TimGM6mb drum
                                                               kits (Standard, Room, Power, Electronic, 808)
instruments   MuseScore General presets whose samples are      TimGM6mb melodic presets, freepats ``Tone_000``
              not FluidR3Mono's (``MUSESCORE_PRESETS``),
              Sonic Pi pitched bass hits and atmospheres
vocals        espeak-ng en-gb/en-us/de/es/it/nl,               espeak-ng fr/sv/pt/pl, variants f4 f5 m4 m5
              variants f1-f3 m1-m3 whisperf                    klatt
templates     classic, dj_tool, break_first, fake_drop,        classic, dj_tool, break_first, fake_drop and
              double_drop, one_drop, three_drop, drop_first    only here: late_double, long_break, pickup
genres        16 (house ... hardcore)                          the same 16 and only here: psytrance, electro
============  ===============================================  ==============================================

Procedural parts (noise risers and downlifters, reverb impulse responses) are drawn per track in
both pools; they are processing, not sound sources. The reserved evaluation sounds (Hydrogen drum
kits, the FluidR3 soundfonts, anything LMMS ships) are never used; the MuseScore presets built on
FluidR3Mono samples are excluded for the same reason. See ``docs/synth-sampled.md``.
"""

from djstruct.synth.sampled.render import render_track, track_name

__all__ = ["render_track", "track_name"]
