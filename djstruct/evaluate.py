"""Scoring an analysis against ground truth (mir_eval), per track and over a set.

Truth files are the synthetic corpus' ``NAME.json`` (see :mod:`djstruct.synth`): ``{"file",
"bpm", "beats", "downbeats", "sections": [{"start", "end", "label"}], "drops"}``. ``sections`` and
``drops`` may be left out (a beat-only truth, e.g. the tracker-module benchmark): the section
metrics (boundaries, labels) or ``drop_f`` are then not scored for that track, and the overall
figures average each metric over the tracks that have it.

Metrics (all in [0, 1]):
- ``boundary_f05`` / ``boundary_f3`` (and ``_p``/``_r``): mir_eval segment hit rate at +-0.5 s and
  +-3 s, ``trim=False`` (the first and last boundary count too);
- ``beat_f`` / ``downbeat_f``: mir_eval F-measure at +-70 ms, no trimming of the first 5 s;
- ``bpm_acc1``: estimate within 2 % of the truth; ``bpm_acc2``: the same allowing x2 / x0.5;
- ``label_acc``: frame-wise (10 Hz) label agreement over the truth's sections;
- ``drop_f``: drop-time F1 at +-0.5 s.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.errors import DjstructError
from djstruct.types import Analysis

log = logging.getLogger(__name__)

METRICS = (
    "boundary_f05", "boundary_p05", "boundary_r05", "boundary_f3",
    "beat_f", "downbeat_f", "bpm_acc1", "bpm_acc2", "label_acc", "drop_f",
)


def _intervals(sections: Iterable[dict[str, Any]] | Iterable[Any]) -> np.ndarray:
    rows = []
    for s in sections:
        start, end = (s["start"], s["end"]) if isinstance(s, dict) else (s.start_s, s.end_s)
        if end > start:
            rows.append((float(start), float(end)))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def onset_f(ref: Sequence[float], est: Sequence[float], window: float) -> float:
    """Onset F-measure of cue times ``est`` against ``ref`` within +-``window`` s (1 when both are
    empty, 0 when one is)."""
    import mir_eval

    r, e = np.sort(np.asarray(ref, dtype=float)), np.unique(np.asarray(est, dtype=float))
    if len(r) == 0 or len(e) == 0:
        return float(len(r) == len(e))
    return float(mir_eval.onset.f_measure(r, e, window=window)[0])


def _label_at(sections: list[tuple[float, float, str]], t: np.ndarray) -> np.ndarray:
    out = np.full(len(t), "", dtype=object)
    for a, b, lab in sections:
        out[(t >= a) & (t < b)] = lab
    return out


def score_track(truth: dict[str, Any], est: Analysis) -> dict[str, float]:
    """All metrics for one track (without section or drop truth, only those it can score)."""
    import mir_eval

    has_sections = truth.get("sections") is not None
    ref_iv = _intervals(truth["sections"] if has_sections else [])
    est_iv = _intervals(est.sections)
    m: dict[str, float] = {}
    if has_sections and len(ref_iv) and len(est_iv):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for w, key in ((0.5, "05"), (3.0, "3")):
                p, r, f = mir_eval.segment.detection(ref_iv, est_iv, window=w, trim=False)
                m[f"boundary_f{key}"] = float(f)
                if key == "05":
                    m["boundary_p05"], m["boundary_r05"] = float(p), float(r)
    elif has_sections:
        m.update(boundary_f05=0.0, boundary_p05=0.0, boundary_r05=0.0, boundary_f3=0.0)

    ref_beats = np.asarray(truth["beats"], dtype=np.float64)
    ref_down = np.asarray(truth["downbeats"], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m["beat_f"] = float(mir_eval.beat.f_measure(ref_beats, np.asarray(est.beats), 0.07))
        m["downbeat_f"] = float(mir_eval.beat.f_measure(ref_down, np.asarray(est.downbeats), 0.07))

    bpm_ref = float(truth["bpm"])
    bpm_est = est.bpm or 0.0
    m["bpm_acc1"] = float(abs(bpm_est - bpm_ref) <= 0.02 * bpm_ref)
    m["bpm_acc2"] = float(any(abs(bpm_est * k - bpm_ref) <= 0.02 * bpm_ref for k in (1.0, 2.0, 0.5)))

    if has_sections:
        ref_secs = [(s["start"], s["end"], s["label"]) for s in truth["sections"]]
        est_secs = [(s.start_s, s.end_s, s.label) for s in est.sections]
        if ref_secs:
            t = np.arange(ref_secs[0][0], ref_secs[-1][1], 0.1)
            m["label_acc"] = float(np.mean(_label_at(ref_secs, t) == _label_at(est_secs, t))) if len(t) else 0.0
        else:
            m["label_acc"] = 0.0
    if has_sections or truth.get("drops") is not None:
        m["drop_f"] = onset_f(truth.get("drops") or [], est.drops, 0.5)
    return m


@dataclass(frozen=True)
class TrackScore:
    name: str
    path: str
    metrics: dict[str, float]
    error: str | None = None


@dataclass(frozen=True)
class EvalReport:
    detector: str
    tracks: list[TrackScore] = field(default_factory=list)

    @property
    def failed(self) -> list[TrackScore]:
        return [t for t in self.tracks if t.error is not None]

    def overall(self) -> dict[str, float]:
        """Mean of each metric over the tracks whose truth can score it; a failed track scores 0 on
        everything. A metric no track has (e.g. sections of a beat-only truth) is left out."""
        if not self.tracks:
            return {k: 0.0 for k in METRICS}
        scored = [k for k in METRICS if any(k in t.metrics for t in self.tracks if t.error is None)]
        if not scored:  # every track failed
            scored = list(METRICS)
        return {k: float(np.mean([t.metrics.get(k, 0.0) for t in self.tracks if t.error is not None or k in t.metrics]))
                for k in scored}

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "overall": {k: round(v, 4) for k, v in self.overall().items()},
            "tracks": [
                {"name": t.name, "path": t.path, "error": t.error,
                 "metrics": {k: round(v, 4) for k, v in t.metrics.items()}}
                for t in self.tracks
            ],
        }


def load_truth(path: Path) -> dict[str, Any]:
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DjstructError(path, f"cannot read ground truth: {e}") from e
    for key in ("file", "bpm", "beats", "downbeats"):
        if key not in truth:
            raise DjstructError(path, f"ground truth lacks {key!r}")
    return truth


def truth_files(truth_dir: Path) -> list[Path]:
    if not truth_dir.is_dir():
        raise DjstructError(truth_dir, "not a directory")
    files = sorted(p for p in truth_dir.glob("*.json") if not p.name.startswith("."))
    if not files:
        raise DjstructError(truth_dir, "no ground-truth .json files found")
    return files


def evaluate_dir(
    truth_dir: Path,
    analyze: Callable[[Path], Analysis],
    detector_name: str,
    progress: Callable[[int, int, str], None] | None = None,
) -> EvalReport:
    """Analyse the audio named by every truth JSON in ``truth_dir`` with ``analyze`` and score it.
    A track that fails to load or analyse is recorded with its error; the rest go on."""
    files = truth_files(truth_dir)
    scores: list[TrackScore] = []
    for i, jf in enumerate(files):
        name = jf.stem
        audio_path = jf.parent / jf.stem
        try:
            truth = load_truth(jf)
            audio_path = jf.parent / truth["file"]
            est = analyze(audio_path)
            scores.append(TrackScore(name, str(audio_path), score_track(truth, est)))
        except DjstructError as e:
            log.warning("%s", e)
            scores.append(TrackScore(name, str(audio_path), {}, error=str(e)))
        if progress is not None:
            progress(i + 1, len(files), name)
    return EvalReport(detector_name, scores)
