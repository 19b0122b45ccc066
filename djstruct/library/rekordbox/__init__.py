"""Rekordbox: XML exports (read :mod:`.xml`, write :mod:`.xml_write` with :mod:`.xml_patch` and
:mod:`.xml_format`), the 6/7 ``master.db`` (read :mod:`.db`; opt-in cue writing :mod:`.db_write`,
its undo :mod:`.db_undo` and row values :mod:`.db_rows`), its ANLZ analysis files (:mod:`.anlz`)
and ``Location`` URLs (:mod:`.locations`)."""
