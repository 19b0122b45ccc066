"""Write the report's HTML: ``index.html`` (the library table), ``tracks/<id>.html`` (one page per
analysed track, drawn by ``assets/track.js`` from the JSON embedded in it) and ``assets/``.

Every page works from ``file://`` with no network request: the CSS and scripts sit beside the
pages, the data is inline, the audio is the track's own file.
"""

from __future__ import annotations

import datetime as _dt
import json
from html import escape
from pathlib import Path
from typing import Any

from djstruct.errors import DjstructError
from djstruct.jsonout import dumps
from djstruct.report.assets import INDEX_JS, REPORT_CSS
from djstruct.report.palette import palette_json, section_color
from djstruct.report.track_js import TRACK_JS
from djstruct.safe_write import atomic_write_text

GENERATOR = '<meta name="generator" content="djstruct report">'

_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (key, header, type) - type "num" sorts numerically, "text" alphabetically
    ("review", "Review", "num"),
    ("title", "Track", "text"),
    ("bpm", "BPM", "num"),
    ("duration_s", "Length", "num"),
    ("sections", "Sections", "num"),
    ("drops", "Drops", "num"),
    ("cues_existing", "Cues now", "num"),
    ("cues_planned", "Planned", "num"),
    ("detector", "Detector", "text"),
    ("confidence", "Confidence", "num"),
    ("status", "Status", "text"),
)


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<``, ``>`` or ``&``)."""
    s = dumps(data, ensure_ascii=False, separators=(",", ":"))
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DjstructError(path.parent, f"cannot create the report folder: {e.strerror or e}") from e
    atomic_write_text(path, text, error=DjstructError)


def write_assets(out: Path) -> None:
    """``assets/report.css``, ``assets/palette.js`` (from :mod:`djstruct.report.palette`),
    ``assets/track.js`` and ``assets/index.js``."""
    a = out / "assets"
    _write(a / "report.css", REPORT_CSS)
    _write(a / "palette.js", f"window.DJSTRUCT_PALETTE = {json.dumps(palette_json(), indent=1)};\n")
    _write(a / "track.js", TRACK_JS)
    _write(a / "index.js", INDEX_JS)


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    m, s = divmod(max(float(seconds), 0.0), 60.0)
    return f"{int(m)}:{s:04.1f}"


def _head(title: str, prefix: str) -> str:
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n{GENERATOR}\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n"
            f'<link rel="stylesheet" href="{prefix}assets/report.css">\n</head>\n')


def _cell(key: str, r: dict[str, Any]) -> str:
    v = r.get(key)
    if key == "review":
        return f'<td class="num rank" data-v="{r["review"]:.3f}">{r.get("rank", "")}</td>'
    if key == "title":
        name = escape(r["title"])
        link = f'<a href="{escape(r["page"])}">{name}</a>' if r.get("page") else name
        sub = " · ".join(escape(x) for x in (r.get("artist") or "", r["file"]) if x)
        return (f'<td data-v="{escape(r["title"].lower())}" title="{escape(r["path"])}">{link}'
                f'<div class="sub">{sub}</div></td>')
    if key == "confidence":
        if v is None:
            return '<td class="num" data-v="">–</td>'
        pct = max(0.0, min(1.0, float(v))) * 100
        return (f'<td class="num conf" data-v="{v}"><span class="meter"><span style="width:{pct:.0f}%">'
                f"</span></span>{float(v):.2f}</td>")
    if key == "duration_s":
        return f'<td class="num" data-v="{"" if v is None else v}">{fmt_time(v)}</td>'
    if key == "cues_planned":
        skip = f' <span class="sub" title="planned but skipped">+{r["cues_skipped"]} skipped</span>' \
            if r.get("cues_skipped") else ""
        return f'<td class="num" data-v="{v}">{v}{skip}</td>'
    if key == "status":
        detail = r.get("error") or r.get("note") or ""
        return (f'<td data-v="{escape(str(v))}"><span class="status {escape(str(v))}">{escape(str(v))}</span>'
                + (f'<div class="err">{escape(detail)}</div>' if detail else "") + "</td>")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<td class="num" data-v="{v}">{v:g}</td>'
    if v is None:
        return '<td class="num" data-v="">–</td>'
    return f'<td data-v="{escape(str(v).lower())}">{escape(str(v))}</td>'


def write_index(out: Path, rows: list[dict[str, Any]], info: dict[str, Any]) -> Path:
    """``index.html``: one row per track, in the given order (the "review first" order)."""
    counts: dict[str, int] = {}
    rows = [{**r, "rank": i} for i, r in enumerate(rows, 1)]
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    head = "".join(f'<th data-key="{k}" data-type="{t}"' + (' class="sorted asc"' if k == "review" else "")
                   + f">{escape(h)}</th>" for k, h, t in _COLUMNS)
    body = "\n".join(
        f'<tr data-status="{escape(r["status"])}">' + "".join(_cell(k, r) for k, _h, _t in _COLUMNS) + "</tr>"
        for r in rows)
    errs = "".join(f"<li>{escape(e)}</li>" for e in info.get("library_errors", ()))
    libs = ", ".join(escape(x) for x in info.get("libraries", ())) or "–"
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    html = (_head("djstruct report", "") + '<body class="index-page">\n<header><h1>djstruct report</h1>'
            f'<div class="sub">{len(rows)} tracks ({escape(summary)}) · layout {escape(info.get("layout", ""))}'
            f" · {libs} · built {when}</div></header>\n"
            '<div class="toolbar"><input id="filter" type="search" placeholder="filter tracks…" '
            'aria-label="filter tracks"><span class="hint">Default order: review first (failures, then lowest '
            "confidence). Click a column to sort.</span></div>\n"
            + (f'<details class="lib-errors"><summary>{len(info["library_errors"])} library entries could not '
               f"be read</summary><ul>{errs}</ul></details>\n" if errs else "")
            + f'<table id="tracks"><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>\n'
            '<script src="assets/index.js"></script>\n</body>\n</html>\n')
    path = out / "index.html"
    _write(path, html)
    return path


def _cue_rows(cues: list[dict[str, Any]]) -> str:
    rows = []
    for c in cues:
        kind = f'hot {c["letter"]}' if c["kind"] == "hot" else ("loop" if c.get("end") is not None else "memory")
        what = "existing" if c["origin"] == "existing" else ("skipped" if c["action"] == "skip" else "planned")
        colour = c.get("color") or ""
        swatch = f'<span class="swatch" style="background:{escape(colour)}"></span>' if colour else ""
        rows.append(
            f'<tr class="cue-row {what}" data-t="{c["t"]}"><td>{what}</td><td>{escape(kind)}</td>'
            f'<td class="num">{fmt_time(c["t"])}</td><td class="num">{"" if c.get("bar") is None else c["bar"]}</td>'
            f"<td>{swatch}{escape(c.get('name') or '')}</td><td>{escape(c.get('reason') or '')}</td></tr>")
    return "\n".join(rows)


def _section_rows(sections: list[dict[str, Any]]) -> str:
    return "\n".join(
        f'<tr class="section-row" data-t="{s["start"]}"><td><span class="swatch" '
        f'style="background:{section_color(s["label"])}"></span>{escape(s["name"])}</td>'
        f'<td class="num">{fmt_time(s["start"])}</td><td class="num">{fmt_time(s["end"])}</td>'
        f'<td class="num">{"" if s.get("bar") is None else s["bar"]}</td></tr>' for s in sections)


def write_track_page(out: Path, page: dict[str, Any]) -> Path:
    """``tracks/<page_id>.html`` for one analysed track (``page`` from :mod:`djstruct.report.data`,
    waveform and energy filled in)."""
    notes = []
    if page.get("status_detail"):
        notes.append(page["status_detail"])
    wave = page.get("wave") or {}
    if wave.get("note"):
        notes.append(wave["note"])
    if page.get("grid_warning"):
        notes.append(page["grid_warning"])
    if page.get("grid_source") == "library":
        notes.append("bar ruler: the library's beat grid (cues snap to it)")
    src = f' src="{escape(page["audio_url"])}"' if page.get("audio_url") else ""
    bpm = "–" if page.get("bpm") is None else f'{page["bpm"]:g}'
    meta = (f'<span>BPM <b>{bpm}</b></span><span>length <b>{fmt_time(page["duration_s"])}</b></span>'
            f'<span>sections <b>{len(page["sections"])}</b></span><span>drops <b>{len(page["drops"])}</b></span>'
            f'<span>detector <b>{escape(page["detector"])}</b></span>'
            f'<span>confidence <b>{page["confidence"]:.2f}</b></span>'
            f'<span>layout <b>{escape(page["layout"])}</b> → {escape(page["target"])}</span>')
    sub = " · ".join(escape(x) for x in (page.get("artist") or "", page["path"]) if x)
    html = (_head(f'{page["title"]} – djstruct report', "../") + '<body class="track-page">\n'
            f'<header><a class="back" href="../index.html">← library</a><h1>{escape(page["title"])}</h1>'
            f'<div class="sub">{sub}</div></header>\n<div class="meta">{meta}</div>\n'
            + "".join(f'<div class="note">{escape(n)}</div>' for n in notes)
            + f'\n<div class="player"><audio id="audio" controls preload="metadata"{src}></audio>'
            '<span class="pos">position <b id="pos">0:00.0</b></span>'
            '<label>waveform colour <select id="colour-by"><option value="energy">energy (bass/mid/high)</option>'
            '<option value="section">section</option></select></label></div>\n'
            '<div id="audio-note" class="note" hidden></div>\n'
            '<figure class="overview"><svg id="plot" role="img" aria-label="track overview"></svg>'
            '<figcaption id="legend"></figcaption></figure>\n'
            '<div class="tables"><section><h2>Cues</h2><table id="cues"><thead><tr><th></th><th>cue</th>'
            '<th>time</th><th>bar</th><th>name</th><th>why</th></tr></thead><tbody>\n'
            f'{_cue_rows(page["cues"])}\n</tbody></table></section>\n'
            '<section><h2>Sections</h2><table id="sections"><thead><tr><th>section</th><th>start</th><th>end</th>'
            f'<th>bar</th></tr></thead><tbody>\n{_section_rows(page["sections"])}\n</tbody></table></section></div>\n'
            f'<script type="application/json" id="track-data">{script_json(page)}</script>\n'
            '<script src="../assets/palette.js"></script>\n<script src="../assets/track.js"></script>\n'
            "</body>\n</html>\n")
    path = out / "tracks" / f'{page["page_id"]}.html'
    _write(path, html)
    return path
