"""Traktor Pro 3/4 collections (``collection.nml``): read tracks, grids and cues; write cues.

Public API:

- :func:`read_nml` (``path -> list[Track | LibraryError]``) and :func:`read_playlists`;
- :func:`plan_nml` (dry run) and :func:`write_nml` (``-> NmlWriteRecord``), cues on Traktor's
  timeline in seconds, per track id ``"nml:<VOLUME+DIR+FILE>"``;
- :func:`undo_nml` (``NmlWriteRecord -> NmlUndoResult``);
- :func:`traktor_pid` / :func:`refuse_if_running`.
"""

from djstruct.library.traktor.nml import ID_PREFIX, SOURCE, read_nml, read_playlists
from djstruct.library.traktor.running import refuse_if_running, traktor_pid
from djstruct.library.traktor.undo import NmlUndoResult, undo_nml
from djstruct.library.traktor.verify import NmlComparison, compare_nml
from djstruct.library.traktor.write import NmlCue, NmlPlan, NmlWriteRecord, plan_nml, write_nml

__all__ = ["ID_PREFIX", "SOURCE", "NmlComparison", "NmlCue", "NmlPlan", "NmlUndoResult", "NmlWriteRecord",
           "compare_nml", "plan_nml", "read_nml", "read_playlists", "refuse_if_running", "traktor_pid",
           "undo_nml", "write_nml"]
