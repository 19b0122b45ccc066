"""Cue planning (analysis -> cues on the library's grid) and diffing against a library's cues."""
