"""The trained detector: structure model activations -> the post-processing shared with ``dsp``.

``MlDetector(model="default")`` loads weights by name (see :mod:`djstruct.model.registry`), runs a
padded batch of tracks through the model once, and turns each track's activations (43.07 Hz) into an
:class:`~djstruct.types.Analysis` with :func:`postprocess` (pure numpy):

1. beat activation -> ``grid.estimate_bpm`` + ``grid.fit_grid`` (a constant-tempo grid);
2. bar phase: the downbeat activation at each beat, averaged per bar phase;
3. boundary score per bar: the larger of the boundary activation's max around each downbeat and the
   *embedding novelty* (cosine novelty of the encoder's per-bar mean embeddings over
   ``novelty_bars`` either side, divided by the track's largest), x ``phrase_weight``, then
   ``pick_boundaries``;
4. section labels: ``labels_from_probs`` on the label probabilities; neighbours with the same label
   merge unless their boundary scored ``keep_same_label`` or more; drops: starts of drop sections
   that do not follow a drop section;
5. energy: the energy head (bass/mid/high in [0, 1]) averaged to ~10.8 Hz;
6. with a personal model (``train --from-library``), its learnt cue style
   (:mod:`djstruct.postprocess.cue_style`) fills ``Analysis.cue_points``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from djstruct.constants import ANALYSIS_RATE_HZ, MODEL_ENERGY_DECIMATE
from djstruct.errors import DetectorError, ModelError
from djstruct.postprocess import grid as gridmod
from djstruct.postprocess import sections as secmod
from djstruct.postprocess.cue_style import CueStyle, pick_cues
from djstruct.postprocess.labels import labels_from_probs, sections_from_bounds
from djstruct.signal import active_span, to_analysis_rate
from djstruct.types import Analysis, Audio, Energy, Section

log = logging.getLogger(__name__)

POST_REVISION = 2  # bump when post-processing changes results, so stored analyses are redone
ENERGY_DECIMATE = MODEL_ENERGY_DECIMATE
MIN_SAMPLES = 4096


@dataclass(frozen=True)
class PostConfig:
    """Post-processing parameters (the trained checkpoint may carry a tuned ``boundary_threshold``)."""

    bpm_range: tuple[float, float] = (88.0, 186.0)
    boundary_threshold: float = 0.3
    min_section_bars: int = 4
    boundary_radius_beats: float = 0.5  # look for the boundary peak within +- this around a downbeat
    novelty_bars: int = 4  # embedding novelty: compare the mean embedding of this many bars before/after
    novelty_weight: float = 1.0  # 0 = boundary head only
    keep_same_label: float = 0.5  # a boundary whose (phrase-weighted) score reaches this stays even
    # between two sections with the same label

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PostConfig:
        """From a checkpoint's ``extra["postprocess"]`` (unknown keys ignored)."""
        conv = {"bpm_range": tuple, "min_section_bars": int, "novelty_bars": int}
        return cls(**{k: conv.get(k, lambda x: x)(v) for k, v in d.items() if k in cls.__dataclass_fields__})


def _trivial(path: str, duration_s: float, energy: Energy | None, name: str, bpm: float | None = None,
             beats: tuple[float, ...] = ()) -> Analysis:
    secs = (Section(0.0, duration_s, "intro"),) if duration_s > 0 else ()
    return Analysis(path, duration_s, bpm, beats, (), secs, (), energy, name, confidence=0.0)


def _energy(e: np.ndarray, fps: float) -> Energy:
    n = len(e) // ENERGY_DECIMATE
    m = e[: n * ENERGY_DECIMATE].reshape(n, ENERGY_DECIMATE, 3).mean(axis=1).astype(np.float32)
    return Energy(ENERGY_DECIMATE / fps, m[:, 0], m[:, 1], m[:, 2])


def _max_around(act: np.ndarray, times_s: np.ndarray, fps: float, radius_frames: int) -> np.ndarray:
    idx = np.round(np.asarray(times_s) * fps).astype(np.int64)
    win = np.clip(idx[:, None] + np.arange(-radius_frames, radius_frames + 1)[None, :], 0, len(act) - 1)
    return act[win].max(axis=1)


def _embedding_novelty(emb: np.ndarray, fps: float, bar_starts: np.ndarray, end_s: float, width: int,
                       min_bars: int) -> np.ndarray:
    """Per-bar novelty (n_bars,): cosine novelty of the bars' mean embeddings over ``width`` bars,
    divided by the largest among the bars a section may start at (``min_bars`` from either end),
    so the strongest candidate change of a track scores 1 and the noisier short-window ends do not
    set the scale."""
    feats = secmod.aggregate(np.asarray(emb, dtype=np.float64), fps, np.append(bar_starts, end_s))
    nov = secmod.cosine_novelty(feats, width)
    inner = nov[min_bars: len(nov) - min_bars + 1]
    top = float(inner.max()) if len(inner) else 0.0
    return np.minimum(nov / top, 1.0) if top > 1e-6 else np.zeros_like(nov)


def postprocess(act: dict[str, np.ndarray], fps: float, duration_s: float, loudness_db: np.ndarray, *,
                path: str = "", name: str = "ml", cfg: PostConfig | None = None,
                style: CueStyle | None = None) -> Analysis:
    """Analysis from one track's activations: ``beat``, ``downbeat``, ``boundary``, ``drop`` (T,),
    ``energy`` (T, 3), ``label`` (T, 5) probabilities at ``fps``, optionally ``embedding`` (T, d)
    for embedding novelty; ``loudness_db`` (T,) frame level. With a cue ``style``, its cue points too."""
    cfg = cfg or PostConfig()
    energy = _energy(act["energy"], fps)
    span = active_span(loudness_db, fps)
    beat_act = act["beat"].astype(np.float64)
    if span is None:
        return _trivial(path, duration_s, energy, name)
    a, b = int(span[0] * fps), int(span[1] * fps) + 1
    bpm = gridmod.estimate_bpm(beat_act[a:b], fps, cfg.bpm_range)
    if bpm is None:
        return _trivial(path, duration_s, energy, name)
    g = gridmod.fit_grid(beat_act, fps, bpm, active=(span[0] - 0.02, span[1]))
    period = 60.0 / g.bpm
    beats = g.beats[(g.beats >= 0) & (g.beats >= span[0] - 0.3 * period) & (g.beats < duration_s)]
    if len(beats) < 8:
        return _trivial(path, duration_s, energy, name, g.bpm, tuple(float(x) for x in beats))

    per_beat = _max_around(act["downbeat"].astype(np.float64), beats, fps, 1)
    phase = int(np.argmax([per_beat[p::4].mean() for p in range(4)]))
    beats, end_s = gridmod.end_on_bar_line(beats, phase, period, span[1], duration_s)
    bar = 4.0 * period
    if len(beats) <= phase + 4:
        return _trivial(path, duration_s, energy, name, g.bpm, tuple(float(x) for x in beats))
    downbeats = beats[phase::4]

    edges = np.append(downbeats, downbeats[-1] + bar)
    if downbeats[0] - beats[0] > 0.5 * period:  # a pickup before the first downbeat
        edges = np.insert(edges, 0, beats[0])
    edges = edges[:-1]  # bar starts
    radius = max(1, int(round(cfg.boundary_radius_beats * period * fps)))
    head = _max_around(act["boundary"].astype(np.float64), edges, fps, radius)
    bscore = head
    if cfg.novelty_weight > 0 and act.get("embedding") is not None and len(edges) > 1:
        nov = _embedding_novelty(act["embedding"], fps, edges, end_s, cfg.novelty_bars, cfg.min_section_bars)
        bscore = np.maximum(head, cfg.novelty_weight * nov)
    n_bars = len(edges)
    weight = secmod.phrase_weight(n_bars, secmod.best_phrase_offset(bscore))
    score = bscore * weight
    bars = secmod.pick_boundaries(score, threshold=cfg.boundary_threshold, min_bars=cfg.min_section_bars)
    bounds = np.array([edges[0]] + [edges[i] for i in bars] + [end_s])
    labels = labels_from_probs(act["label"], fps, bounds)
    sections = sections_from_bounds(bounds, labels, merge_same=True,
                                    keep=[score[i] >= cfg.keep_same_label for i in bars])
    drops = tuple(s.start_s for k, s in enumerate(sections)
                  if s.label == "drop" and (k == 0 or sections[k - 1].label != "drop"))
    contrast = float(np.mean([head[i] * weight[i] for i in bars])) if bars else 0.0  # the head's own certainty
    analysis = Analysis(
        path=path, duration_s=duration_s, bpm=g.bpm,
        beats=tuple(float(x) for x in beats), downbeats=tuple(float(x) for x in downbeats),
        sections=tuple(sections), drops=drops, energy=energy, detector=name,
        confidence=float(np.clip(0.5 * g.fit_quality + 0.5 * contrast, 0.0, 1.0)),
    )
    if style is not None:
        analysis = replace(analysis, cue_points=pick_cues(style, analysis))
    return analysis


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class MlDetector:
    """Tempo, beats, downbeats, sections, labels, drops and energy from the trained structure model."""

    name = "ml"
    sample_rate_hz = ANALYSIS_RATE_HZ
    batched = True

    def __init__(self, model: str = "default", device: str = "auto", batch_size: int = 8,
                 threads: int | None = None, boundary_threshold: float | None = None) -> None:
        import torch

        from djstruct.model.registry import load_model

        self.device = _pick_device(device)
        try:
            ck = load_model(model)
        except ModelError as e:
            if model != "default":
                raise
            raise ModelError(e.path, f"{e.reason} (`--detector dsp` analyses without a model)") from e
        self.model_name = model
        self.model = ck.model.to(self.device).eval()
        self.version = f"{ck.sha256[:12]}.p{POST_REVISION}"  # weights + post-processing revision
        self.batch_size = max(1, int(batch_size))
        pp = dict(ck.extra.get("postprocess") or {})
        if boundary_threshold is not None:
            pp["boundary_threshold"] = boundary_threshold
        self.post = PostConfig.from_dict(pp)
        self.style: CueStyle | None = None
        if ck.extra.get("cue_style"):
            try:
                self.style = CueStyle.from_dict(ck.extra["cue_style"])
            except (ValueError, KeyError, TypeError) as e:
                raise ModelError(ck.path, f"bad cue style in the checkpoint: {e}") from e
            if ck.extra.get("post_revision", 1) != POST_REVISION:
                log.warning("%s: its cue style was learnt on analyses of an older post-processing (revision %s, "
                            "now %d); re-fit it with `djstruct train --from-library ... --epochs 0`",
                            ck.path, ck.extra.get("post_revision", 1), POST_REVISION)
        if self.device == "cpu" and threads is None and "OMP_NUM_THREADS" not in os.environ:
            threads = min(os.cpu_count() or 1, 8)
        if threads:
            torch.set_num_threads(int(threads))

    def analyze(self, audio: Audio) -> Analysis:
        return self.analyze_batch([audio])[0]

    def analyze_batch(self, audios: Sequence[Audio]) -> list[Analysis]:
        from djstruct.model import frontend as fe

        out: list[Analysis | None] = [None] * len(audios)
        waves: dict[int, np.ndarray] = {}
        for i, a in enumerate(audios):
            path = "" if a.path is None else str(a.path)
            if len(a.samples) < MIN_SAMPLES:
                out[i] = _trivial(path, a.duration_s, None, self.name)
            else:
                waves[i] = to_analysis_rate(a.samples, a.sample_rate_hz)
        order = sorted(waves, key=lambda i: len(waves[i]))  # similar lengths pad least
        bs = self.batch_size if self.device != "cpu" else min(self.batch_size, 4)
        pos = 0
        while pos < len(order):
            chunk = order[pos: pos + bs]
            try:
                acts = self.activations([waves[i] for i in chunk])
            except RuntimeError as e:  # CUDA out of memory: halve the batch and go on
                if "out of memory" in str(e).lower() and len(chunk) > 1:
                    import torch

                    torch.cuda.empty_cache()
                    bs = max(1, len(chunk) // 2)
                    log.warning("out of memory with %d tracks per batch; retrying with %d", len(chunk), bs)
                    continue
                raise DetectorError(audios[chunk[0]].path, f"model failed: {e}") from e
            for i, act in zip(chunk, acts, strict=True):
                a = audios[i]
                path = "" if a.path is None else str(a.path)
                loud = act.pop("loudness_db")
                try:
                    out[i] = postprocess(act, fe.FPS, a.duration_s, loud, path=path, name=self.name, cfg=self.post,
                                         style=self.style)
                except (ValueError, IndexError, FloatingPointError) as e:  # a batch never dies on one track
                    raise DetectorError(a.path, f"post-processing failed: {e}") from e
            pos += len(chunk)
        return [x for x in out if x is not None]

    def activations(self, waves: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Model activations for mono 22050 Hz waveforms, each cropped to its own frame count; dicts
        with ``beat``, ``downbeat``, ``boundary``, ``drop`` (T,), ``energy`` (T, 3), ``label`` (T, 5),
        ``embedding`` (T, d_model), ``loudness_db`` (T,)."""
        import torch

        from djstruct.model import frontend as fe
        from djstruct.model.heads import activations

        with torch.inference_mode():
            x, mask = self.model.prepare(waves)
            mel = x if self.model.backbone.input_kind == "mel" else fe.log_mel(x)
            x, mask = x.to(self.device), mask.to(self.device)
            if self.device.startswith("cuda"):
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    logits = self.model(x, mask, with_embedding=True)
            else:
                logits = self.model(x, mask, with_embedding=True)
            act = {k: v.float().cpu().numpy() for k, v in activations(logits).items()}
        res = []
        for i, w in enumerate(waves):
            t = fe.n_frames_for(len(w))
            d = {k: v[i, :t] for k, v in act.items()}
            d["loudness_db"] = fe.loudness_db(mel[i, :t].cpu().numpy())
            res.append(d)
        return res
