"""``djstruct report``: a static HTML report to see (and hear) what djstruct found, and the PNG
drawing of ``djstruct analyze --plot``.

:mod:`~djstruct.report.data` turns a track + its analysis into a table row and page JSON,
:mod:`~djstruct.report.waveform` summarises the audio, :mod:`~djstruct.report.render` writes HTML,
:mod:`~djstruct.report.build` runs it all over a library, :mod:`~djstruct.report.draw` draws a PNG;
:mod:`~djstruct.report.palette` is the one palette and lane layout they share.
"""

from __future__ import annotations

from djstruct.report.build import ReportConfig, ReportResult, build_report

__all__ = ["ReportConfig", "ReportResult", "build_report"]
