"""Synthetic EDM renderer with exact ground truth (tests, training, demos).

``render_track(seed, index)`` -> ``(audio (n, 2) float32 at 44.1 kHz, truth dict)``;
``render_corpus(out_dir, n, seed)`` writes ``NAME.<ext>`` + ``NAME.json`` per track. The
encoders live in :mod:`djstruct.synth.encode` and are imported only when a corpus is written.
"""

from djstruct.synth.corpus import render_corpus, track_name
from djstruct.synth.render import SR, render_track

__all__ = ["SR", "render_corpus", "render_track", "track_name"]
