"""The sampled engine: realistic EDM from recorded sounds that Debian packages ship."""

from djstruct.synth.sampled.render import render_track, track_name

__all__ = ["render_track", "track_name"]
