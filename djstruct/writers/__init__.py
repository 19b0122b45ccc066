"""Writers put cue points back into DJ libraries and audio files (one module per target)."""
