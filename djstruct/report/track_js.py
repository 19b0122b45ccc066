"""The track page's script (written to ``assets/track.js``): draws the overview as inline SVG from
the page's ``#track-data`` JSON with the palette and lanes of :mod:`djstruct.report.palette`
(``assets/palette.js``), and seeks the ``<audio>`` element when a cue, a section or the waveform is
clicked. The PNG of ``djstruct analyze --plot`` (:mod:`djstruct.report.draw`) follows the same
layout; ``mix`` is :func:`djstruct.report.palette.energy_mix` and ``labelStep`` is
:func:`djstruct.report.palette.bar_label_step`."""

from __future__ import annotations

TRACK_JS = """\
// djstruct report: one track's overview, drawn as inline SVG (no dependencies, no network).
(function () {
  "use strict";
  var P = window.DJSTRUCT_PALETTE;
  var D = JSON.parse(document.getElementById("track-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("plot");
  var audio = document.getElementById("audio");
  var W = P.width, dur = Math.max(D.duration_s, 0.001);
  var L = {}, H = 0;
  P.lanes.forEach(function (l) { L[l[0]] = { y: H, h: l[1] }; H += l[1]; });
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  var TOP = L.sections.y, BOTTOM = L.energy.y + L.energy.h;

  function X(t) { return Math.max(0, Math.min(W, t / dur * W)); }
  function el(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) { e.setAttribute(k, attrs[k]); }
    });
    if (text !== undefined) { e.textContent = text; }
    (parent || svg).appendChild(e);
    return e;
  }
  function fmt(t) {
    var m = Math.floor(t / 60), s = t - 60 * m;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }
  function rgb(h) { return [1, 3, 5].map(function (i) { return parseInt(h.substr(i, 2), 16); }); }
  var BANDS = [rgb(P.energy.bass), rgb(P.energy.mid), rgb(P.energy.high)];
  function mix(b, m, h) {  // = djstruct.report.palette.energy_mix
    var k = P.mix_sharpness, v = [Math.pow(b, k), Math.pow(m, k), Math.pow(h, k)], t = v[0] + v[1] + v[2];
    if (t <= 1e-9) { return P.grid; }
    var w = [v[0] / t, v[1] / t, v[2] / t];
    var mixed = [0, 1, 2].map(function (c) { return w[0] * BANDS[0][c] + w[1] * BANDS[1][c] + w[2] * BANDS[2][c]; });
    var g = (0.45 + 0.55 * Math.min(1, Math.max(b, m, h))) * 255 / Math.max(mixed[0], mixed[1], mixed[2], 1);
    return "rgb(" + mixed.map(function (x) { return Math.min(255, Math.round(g * x)); }).join(",") + ")";
  }
  function labelStep(nBars, width) {  // = djstruct.report.palette.bar_label_step
    var steps = P.bar_label_steps;
    if (nBars <= 0) { return steps[steps.length - 1]; }
    for (var i = 0; i < steps.length; i++) { if (steps[i] * width / nBars >= P.min_label_px) { return steps[i]; } }
    return steps[steps.length - 1];
  }
  function sectionColor(label) { return P.sections[label] || P.other_section; }
  function sectionAt(t) {
    for (var i = 0; i < D.sections.length; i++) {
      if (t >= D.sections[i].start && t < D.sections[i].end) { return D.sections[i]; }
    }
    return null;
  }

  // ---- background, section tints behind the waveform, ruler and energy
  el("rect", { x: 0, y: TOP, width: W, height: BOTTOM - TOP, fill: P.background, rx: 4 });
  var tints = el("g", { "class": "tints" });
  D.sections.forEach(function (s) {
    el("rect", { x: X(s.start), y: L.wave.y, width: Math.max(0, X(s.end) - X(s.start)),
                 height: BOTTOM - L.wave.y, fill: sectionColor(s.label), opacity: 0.09 }, tints);
    el("line", { x1: X(s.start), x2: X(s.start), y1: L.wave.y, y2: BOTTOM, stroke: sectionColor(s.label),
                 "stroke-opacity": 0.45, "stroke-width": 1 }, tints);
  });

  // ---- waveform
  var waveG = el("g", { "class": "wave", "shape-rendering": "crispEdges" });
  function drawWave(mode) {
    while (waveG.firstChild) { waveG.removeChild(waveG.firstChild); }
    var wv = D.wave, n = wv ? wv.n : 0;
    var mid = L.wave.y + L.wave.h / 2, half = L.wave.h / 2 - 3, cw = W / Math.max(n, 1);
    el("line", { x1: 0, x2: W, y1: mid, y2: mid, stroke: P.grid, "stroke-width": 0.6 }, waveG);
    for (var i = 0; i < n; i++) {
      var col;
      if (mode === "section") {
        var s = sectionAt((i + 0.5) * wv.col_s);
        col = s ? sectionColor(s.label) : P.muted;
      } else {
        col = D.energy ? mix(D.energy.bass[i] / 100, D.energy.mid[i] / 100, D.energy.high[i] / 100) : P.muted;
      }
      var p = wv.peak[i] / 255 * half, r = wv.rms[i] / 255 * half, x = i * cw;
      if (p > 0.2) { el("rect", { x: x, y: mid - p, width: cw + 0.4, height: 2 * p, fill: col, opacity: 0.5 }, waveG); }
      if (r > 0.2) { el("rect", { x: x, y: mid - r, width: cw + 0.4, height: 2 * r, fill: col }, waveG); }
    }
    svg.setAttribute("data-wave-mode", mode);
  }
  var colourBy = document.getElementById("colour-by");
  drawWave(colourBy ? colourBy.value : "energy");
  if (colourBy) { colourBy.addEventListener("change", function () { drawWave(colourBy.value); }); }

  // ---- beat / bar ruler and time labels
  var R = L.ruler, ruler = el("g", { "class": "ruler" });
  el("rect", { x: 0, y: R.y, width: W, height: R.h, fill: P.panel, opacity: 0.6 }, ruler);
  var step = labelStep(D.downbeats.length, W), dBeat = "", dBar = "", dMajor = "";
  if (D.beats.length && W / D.beats.length >= 3) {
    D.beats.forEach(function (t) { dBeat += "M" + X(t).toFixed(1) + " " + R.y + "v3"; });
  }
  D.downbeats.forEach(function (t, i) {
    var x = X(t).toFixed(1);
    if (i % step === 0) {
      dMajor += "M" + x + " " + R.y + "v11";
      el("text", { x: +x + 2, y: R.y + 18, fill: P.text, "font-size": 10 }, ruler, String(i + 1));
    } else { dBar += "M" + x + " " + R.y + "v6"; }
  });
  el("path", { d: dBeat, stroke: P.muted, "stroke-opacity": 0.5, "stroke-width": 0.6 }, ruler);
  el("path", { d: dBar, stroke: P.muted, "stroke-width": 0.8 }, ruler);
  el("path", { d: dMajor, stroke: P.text, "stroke-width": 1 }, ruler);
  var tSteps = P.time_label_steps_s, tStep = tSteps.filter(function (s) {
    return s * W / dur >= P.min_time_label_px;
  })[0] || tSteps[tSteps.length - 1];
  for (var t = 0; t <= dur && X(t) < W - 26; t += tStep) {
    el("text", { x: X(t) + 2, y: R.y + R.h - 2, fill: P.muted, "font-size": 8.5 }, ruler, fmt(t).replace(/\\.0$/, ""));
  }
  svg.setAttribute("data-bar-step", step);

  // ---- energy curves
  var E = L.energy, energy = el("g", { "class": "energy" });
  if (D.energy) {
    ["high", "mid", "bass"].forEach(function (band) {
      var v = D.energy[band], n = v.length, pts = [];
      for (var i = 0; i < n; i++) {
        pts.push(((i + 0.5) * W / n).toFixed(1) + "," + (E.y + E.h - 3 - v[i] / 100 * (E.h - 8)).toFixed(1));
      }
      el("polygon", { points: "0," + (E.y + E.h) + " " + pts.join(" ") + " " + W + "," + (E.y + E.h),
                      fill: P.energy[band], "fill-opacity": 0.10 }, energy);
      el("polyline", { points: pts.join(" "), fill: "none", stroke: P.energy[band], "stroke-width": 1.3,
                       "stroke-linejoin": "round", "class": "energy-" + band }, energy);
    });
  } else {
    el("text", { x: 8, y: E.y + E.h / 2, fill: P.muted, "font-size": 11 }, energy, "no energy curve stored");
  }

  // ---- click anywhere on waveform / ruler / energy to seek (under the cue markers)
  var hit = el("rect", { x: 0, y: L.wave.y, width: W, height: BOTTOM - L.wave.y, fill: "transparent",
                         "class": "wave-hit" });
  hit.addEventListener("click", function (ev) {
    var pt = svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    var p = pt.matrixTransform(svg.getScreenCTM().inverse());
    seek(p.x / W * dur);
  });

  // ---- section bands with labels, drops
  var S = L.sections, secG = el("g", { "class": "sections" });
  D.sections.forEach(function (s) {
    var g = el("g", { "class": "section", "data-t": s.start, "data-label": s.label }, secG);
    var x0 = X(s.start), w = Math.max(0, X(s.end) - x0);
    el("title", {}, g, s.name + " \\u00b7 " + fmt(s.start) + "\\u2013" + fmt(s.end) +
       (s.bar ? " \\u00b7 bar " + s.bar : ""));
    el("rect", { x: x0 + 0.5, y: S.y + 2, width: Math.max(0, w - 1), height: S.h - 4, rx: 3,
                 fill: sectionColor(s.label) }, g);
    var label = w > s.name.length * 6.4 + 10 ? s.name : (w > 22 ? s.name.charAt(0) : "");
    if (label) {
      el("text", { x: x0 + 6, y: S.y + S.h / 2 + 4, fill: "#0d0f12", "font-size": 11, "font-weight": 600 }, g, label);
    }
  });
  (D.changes || []).forEach(function (t) {  // a new part inside a section (drums in mid-intro)
    var x = X(t), g = el("g", { "class": "change", "data-t": t }, secG);
    el("title", {}, g, "new part \\u00b7 " + fmt(t));
    el("line", { x1: x, x2: x, y1: S.y + 2, y2: S.y + S.h - 2, stroke: "#0d0f12", "stroke-width": 2,
                 "stroke-dasharray": "3,2" }, g);
  });
  D.drops.forEach(function (d) {
    var x = X(d), g = el("g", { "class": "drop-marker", "data-t": d });
    el("title", {}, g, "drop \\u00b7 " + fmt(d));
    el("polygon", { points: (x - 6) + "," + L.wave.y + " " + (x + 6) + "," + L.wave.y + " " + x + "," + (L.wave.y + 9),
                    fill: P.drop, stroke: P.background, "stroke-width": 1 }, g);
  });

  // ---- cues: existing = solid line + filled flag on top; planned = dashed line + hollow flag below
  var cueG = el("g", { "class": "cues" });
  D.cues.forEach(function (c) {
    if (c.origin === "planned" && c.action === "skip") { return; }
    var st = P.cue_styles[c.origin], col = c.color || P.cue_default, x = X(c.t);
    var g = el("g", { "class": "cue-marker " + c.origin, "data-t": c.t, "data-kind": c.kind }, cueG);
    var what = (c.kind === "hot" ? "hot cue " + c.letter : (c.end !== null ? "loop" : "memory cue"));
    el("title", {}, g, what + (c.name ? " \\u00b7 " + c.name : "") + " \\u00b7 " + fmt(c.t) +
       (c.bar ? " \\u00b7 bar " + c.bar : "") + " \\u00b7 " + (c.origin === "existing" ? c.who + " cue" : "planned"));
    if (c.end !== null && c.end > c.t) {
      el("rect", { x: x, y: L.wave.y, width: Math.max(1, X(c.end) - x), height: L.wave.h, fill: col,
                   opacity: 0.18 }, g);
    }
    el("line", { x1: x, x2: x, y1: TOP, y2: BOTTOM, stroke: "transparent", "stroke-width": 9 }, g);
    el("line", { x1: x, x2: x, y1: TOP, y2: BOTTOM, stroke: col, "stroke-width": 1.5, "stroke-opacity": 0.95,
                 "stroke-dasharray": st.dash || null, "class": "cue-line" }, g);
    var lane = st.flag === "top" ? L.flags_top : L.flags_bottom, fy = lane.y + 3, s = lane.h - 6;
    var fx = x + s > W ? x - s : x;
    if (c.kind === "memory") {
      var tip = st.flag === "top" ? fy + s : fy, base = st.flag === "top" ? fy : fy + s;
      el("polygon", { points: (x - s / 2) + "," + base + " " + (x + s / 2) + "," + base + " " + x + "," + tip,
                      fill: st.filled ? col : P.background, stroke: col, "stroke-width": 1.5 }, g);
    } else {
      el("rect", { x: fx, y: fy, width: s, height: s, rx: 2, fill: st.filled ? col : P.background, stroke: col,
                   "stroke-width": 1.5 }, g);
      el("text", { x: fx + s / 2, y: fy + s - 4, "text-anchor": "middle", "font-size": 11, "font-weight": 700,
                   fill: st.filled ? "#0d0f12" : col }, g, c.letter);
    }
  });

  // ---- playhead, position, seeking
  var head = el("line", { x1: 0, x2: 0, y1: TOP, y2: BOTTOM, stroke: P.playhead, "stroke-width": 1.5,
                          "class": "playhead", "pointer-events": "none" });
  var pos = document.getElementById("pos");
  function show(t) {
    var x = X(t);
    head.setAttribute("x1", x); head.setAttribute("x2", x);
    if (pos) { pos.textContent = fmt(t); }
  }
  function seek(t) {
    t = Math.max(0, Math.min(dur, t));
    try { audio.currentTime = t; } catch (err) { /* no playable source: the page still moves */ }
    document.body.setAttribute("data-seek", t.toFixed(3));
    show(t);
  }
  window.djstructSeek = seek;
  document.addEventListener("click", function (ev) {
    var n = ev.target.closest ? ev.target.closest("[data-t]") : null;
    if (n) { seek(parseFloat(n.getAttribute("data-t"))); }
  });
  var raf = null;
  function tick() { show(audio.currentTime); raf = audio.paused ? null : requestAnimationFrame(tick); }
  audio.addEventListener("play", function () { if (!raf) { raf = requestAnimationFrame(tick); } });
  audio.addEventListener("seeked", function () { show(audio.currentTime); });
  audio.addEventListener("timeupdate", function () { if (!raf) { show(audio.currentTime); } });
  audio.addEventListener("error", function () {
    var note = document.getElementById("audio-note");
    var code = audio.error ? audio.error.code : 0;
    note.textContent = "This browser cannot play " + D.file + " (media error " + code +
      "); clicking still moves the playhead.";
    note.hidden = false;
  });
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (ev.code !== "Space" || tag === "input" || tag === "select" || tag === "audio") { return; }
    ev.preventDefault();
    if (audio.paused) { var p = audio.play(); if (p && p.catch) { p.catch(function () {}); } } else { audio.pause(); }
  });

  // ---- legend
  var legend = document.getElementById("legend");
  function key(colour, text, hollow) {
    var k = document.createElement("span"), sw = document.createElement("span");
    k.className = "key";
    if (colour) {
      sw.className = "swatch" + (hollow ? " hollow" : "");
      sw.style[hollow ? "color" : "background"] = colour;
      k.appendChild(sw);
    }
    k.appendChild(document.createTextNode(text));
    legend.appendChild(k);
  }
  var seen = {};
  D.sections.forEach(function (s) {
    if (!seen[s.label]) { seen[s.label] = 1; key(sectionColor(s.label), s.label); }
  });
  ["bass", "mid", "high"].forEach(function (b) { key(P.energy[b], b); });
  var nEx = D.cues.filter(function (c) { return c.origin === "existing"; }).length;
  var nPl = D.cues.filter(function (c) { return c.origin === "planned" && c.action !== "skip"; }).length;
  key(P.cue_default, "existing cues (" + nEx + ", flags on top)");
  key(P.cue_default, "planned cues (" + nPl + ", dashed, flags below)", true);
  key(null, "\\u25bc drop");
  key(null, "bar numbers every " + step + (step > 1 ? " bars" : " bar"));
  svg.setAttribute("data-drawn", "1");
})();
"""
