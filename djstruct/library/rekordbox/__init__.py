"""Rekordbox 6/7 ``master.db`` cue writing (opt-in): :func:`write_db_cues` / :func:`plan_db_cues`
(:mod:`.db_write`) and :func:`undo_db` (:mod:`.db_undo`); row values in :mod:`.db_rows`.

Reading stays in :mod:`djstruct.library.rekordbox_db` (to move here with the package restructure).
"""
