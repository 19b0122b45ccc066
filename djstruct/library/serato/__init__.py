"""Serato DJ: per-track tags in the audio files (read and write), crates and ``database V2``.

- :mod:`.markers`, :mod:`.legacy`, :mod:`.beatgrid`: codecs of the tag payloads (bytes in, bytes out);
- :mod:`.tags`: the containers (ID3 GEOB, FLAC/Ogg comments, MP4 atoms), opened once per file, and
  the backup of the values a write may touch;
- :mod:`.read`: Serato's cues, loops and beat grid as djstruct ``Cue`` / ``LibraryGrid``;
- :mod:`.write`: hot cues written (and restored) safely;
- :mod:`.crates`, :mod:`.folder`: which files a folder library holds.
"""
