"""The writeback stage: analyses -> cue diffs -> the DJ's library, journaled, with an exact undo.

:mod:`.plan` (one track's diff; the report calls it too), :mod:`.apply` (``run_writeback``),
:mod:`.undo`, :mod:`.journal` (the journal in the store) and :mod:`.frame_backup` (byte-exact
backups of the bytes around an audio payload).
"""
