"""The report's stylesheet and the library table's script (written to ``assets/`` beside the pages;
kept as Python strings so they ship inside the package). The track page's script is in
:mod:`djstruct.report.track_js`."""

from __future__ import annotations

REPORT_CSS = """\
:root { color-scheme: dark; --bg: #14161b; --panel: #1c1f26; --line: #2c313b; --text: #e8e8ea;
  --muted: #9aa0ab; --accent: #4da3ff; --bad: #ff6b5e; --warn: #ffb454; --ok: #4cd07d; }
* { box-sizing: border-box; }
body { margin: 0; padding: 18px 24px 40px; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header h1 { margin: 4px 0 2px; font-size: 22px; font-weight: 650; letter-spacing: .2px; }
header .back { font-size: 13px; }
.sub { color: var(--muted); font-size: 12px; word-break: break-all; }
.toolbar { display: flex; gap: 16px; align-items: center; margin: 14px 0 10px; }
.toolbar input { background: var(--panel); color: var(--text); border: 1px solid var(--line);
  border-radius: 6px; padding: 6px 10px; width: 280px; }
.hint { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { position: sticky; top: 0; background: var(--panel); font-weight: 600; font-size: 12px;
  text-transform: uppercase; letter-spacing: .5px; color: var(--muted); user-select: none; }
#tracks th { cursor: pointer; }
#tracks th:hover { color: var(--text); }
#tracks th.sorted.asc::after { content: " \\25B2"; font-size: 9px; }
#tracks th.sorted.desc::after { content: " \\25BC"; font-size: 9px; }
#tracks tbody tr:hover { background: #20242c; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.rank { color: var(--muted); }
.meter { display: inline-block; width: 54px; height: 6px; margin-right: 8px; background: var(--line);
  border-radius: 3px; vertical-align: middle; overflow: hidden; }
.meter span { display: block; height: 100%; background: linear-gradient(90deg, var(--bad), var(--warn), var(--ok));
  background-size: 54px 100%; }
.status { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 11px; font-weight: 600;
  background: var(--line); }
.status.ok { background: #1f3b2a; color: var(--ok); }
.status.failed, .status.missing { background: #45211e; color: var(--bad); }
.status.pending, .status.stale { background: #43351c; color: var(--warn); }
.err { color: var(--bad); font-size: 12px; max-width: 420px; }
.lib-errors { margin: 8px 0; color: var(--bad); }
.meta { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 10px 0; color: var(--muted); }
.meta b { color: var(--text); font-weight: 600; }
.note { margin: 6px 0; padding: 6px 10px; border-left: 3px solid var(--warn); background: #2a2418;
  color: #f1d9a8; font-size: 13px; }
.player { display: flex; flex-wrap: wrap; align-items: center; gap: 18px; margin: 12px 0 8px; }
.player audio { width: 420px; max-width: 100%; }
.player .pos { color: var(--muted); font-variant-numeric: tabular-nums; }
.player .pos b { color: var(--text); }
.player select { background: var(--panel); color: var(--text); border: 1px solid var(--line); border-radius: 5px;
  padding: 3px 6px; }
figure.overview { margin: 6px 0 14px; padding: 10px; background: var(--panel); border-radius: 8px; }
#plot { display: block; width: 100%; height: auto; }
#plot text { font-family: inherit; pointer-events: none; }
#plot .section, #plot .cue-marker, #plot .wave-hit { cursor: pointer; }
#plot .cue-marker:hover .cue-line { stroke-width: 2.5; }
#plot .section:hover rect { filter: brightness(1.25); }
figcaption { display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 8px; color: var(--muted); font-size: 12px; }
figcaption .key { display: inline-flex; align-items: center; gap: 5px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px;
  vertical-align: baseline; }
.swatch.hollow { background: transparent !important; border: 1.5px solid currentColor; }
.tables { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px; }
.tables h2 { font-size: 15px; margin: 8px 0; }
.cue-row, .section-row { cursor: pointer; }
.cue-row:hover, .section-row:hover { background: #20242c; }
.cue-row.skipped { color: var(--muted); }
.cue-row.planned td:first-child { color: var(--accent); }
@media (max-width: 900px) { .tables { grid-template-columns: 1fr; } }
"""

INDEX_JS = """\
// djstruct report: sortable, filterable library table (no dependencies).
(function () {
  "use strict";
  var table = document.getElementById("tracks");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);

  function value(row, i, type) {
    var v = row.cells[i].getAttribute("data-v");
    if (type === "num") {
      var n = parseFloat(v);
      return isNaN(n) ? null : n;
    }
    return v || "";
  }

  function sortBy(i, dir) {
    var type = heads[i].getAttribute("data-type");
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var x = value(a, i, type), y = value(b, i, type);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }  // empty cells last, whatever the direction
      if (y === null) { return -1; }
      var c = type === "num" ? x - y : String(x).localeCompare(String(y));
      return dir === "asc" ? c : -c;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    heads.forEach(function (h) { h.classList.remove("sorted", "asc", "desc"); });
    heads[i].classList.add("sorted", dir);
  }

  heads.forEach(function (h, i) {
    h.addEventListener("click", function () {
      var dir = h.classList.contains("asc") ? "desc" : "asc";
      sortBy(i, dir);
    });
  });

  var filter = document.getElementById("filter");
  if (filter) {
    filter.addEventListener("input", function () {
      var q = filter.value.toLowerCase();
      Array.prototype.forEach.call(tbody.rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
})();
"""
