"""Rekordbox: XML exports (read :mod:`.xml`, write :mod:`.xml_write`), the 6/7 ``master.db``
(:mod:`.db`, :mod:`.db_write`), its ANLZ analysis files (:mod:`.anlz`) and ``Location`` URLs
(:mod:`.locations`)."""
