"""``djstruct eval --from-library``: how well djstruct's cue plan agrees with the DJ's own cues.

For every harvested track with an analysis: the DJ's clean cues (heuristic flags off, loops and
load cues excluded) against the memory cues the plan would write (section starts, or with a
personal model the points its learnt cue style chose; snapped to the library grid; hot cues follow
the layout's rules, which are the user's choice, so they are left out unless the layout has no
memory cues). F-measure at +-1 beat and at +-0.5 s, per track, per genre (when the library records
one), per crate/playlist (Rekordbox XML) and overall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from djstruct.cues.plan import load_layout, plan_cues
from djstruct.evaluate import onset_f
from djstruct.library import LibrarySource
from djstruct.library.rekordbox.xml import read_playlists
from djstruct.train.check import check_library


@dataclass(frozen=True)
class Agreement:
    groups: dict[str, dict[str, float]]  # group -> {"tracks", "f_beat", "f_05"}
    tracks: list[dict[str, object]]


def library_agreement(sources: Sequence[LibrarySource], store_path: Path | None = None,
                      layout_name: str = "default") -> Agreement:

    layout = load_layout(layout_name)
    result = check_library(sources, store_path, reviewed=set(), find_issues=False)
    crates: dict[str, list[str]] = {}
    for src in sources:
        if src.kind == "rekordbox-xml" and src.path is not None:
            for name, ids in read_playlists(src.path).items():
                for tid in ids:
                    crates.setdefault(tid if tid.startswith("rbx:") else "rbx:" + tid, []).append(name)
    rows: list[dict[str, object]] = []
    for ch in result.checks:
        a = result.analyses.get(str(ch.item.track.path))
        if a is None:
            continue
        ref = np.array([c.cue.start_s for c in ch.clean_cues])
        plan = plan_cues(a, layout, ch.item.track.grid)
        est = np.array([c.cue.start_s for c in (plan.memory or plan.cues)])
        beat = 60.0 / ch.item.bpm if ch.item.bpm > 0 else 0.5
        genre = str(ch.item.track.extras.get("genre", "") or "-")
        rows.append({"path": str(ch.item.track.path), "genre": genre, "crates": crates.get(ch.item.track.id, []),
                     "f_beat": onset_f(ref, est, beat), "f_05": onset_f(ref, est, 0.5)})
    groups: dict[str, list[dict[str, object]]] = {"all": rows}
    for r in rows:
        groups.setdefault(f"genre: {r['genre']}", []).append(r)
        for c in r["crates"]:  # type: ignore[attr-defined]
            groups.setdefault(f"crate: {c}", []).append(r)
    summary = {g: {"tracks": float(len(rs)), "f_beat": float(np.mean([r["f_beat"] for r in rs])) if rs else 0.0,
                   "f_05": float(np.mean([r["f_05"] for r in rs])) if rs else 0.0} for g, rs in groups.items()}
    return Agreement(summary, rows)
