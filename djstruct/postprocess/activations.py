"""The ``ml`` detector's post-processing: model activations -> :class:`~djstruct.types.Analysis`
(pure numpy, on the skeleton of :mod:`djstruct.postprocess.pipeline`).

Activations are at the model's frame rate (43.07 Hz):

1. beat activation -> tempo and a constant-tempo grid (:func:`.pipeline.beat_grid`);
2. bar phase: the downbeat activation at each beat, averaged per bar phase;
3. boundary score per bar: the larger of the boundary activation's max around each bar start and
   the novelty: the mean of the *embedding novelty* (cosine novelty of the encoder's per-bar mean
   embeddings over ``novelty_bars`` either side, divided by the track's largest) and the *band
   novelty* (bass/mid/high levels of the log-mel over 2 and 4 bars, divided by the track's
   ``band_novelty_percentile``: drums or bass in or out), x the phrase prior, then picked;
4. section labels from the label probabilities; neighbours with the same label merge. Where their
   boundary scored ``keep_same_label`` or more (every label but buildup by default) a drop starts a
   new drop section (a double drop), and an intro, breakdown or outro goes on with a *change* inside
   (``Analysis.changes``: drums entering mid-intro start a part a DJ cues, not a new section);
   drops where a drop section begins;
5. energy: the energy head (bass/mid/high in [0, 1]) averaged to ~10.8 Hz;
6. with a personal model, its learnt cue style (:mod:`.cue_style`) fills ``Analysis.cue_points``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from djstruct.constants import MODEL_ENERGY_DECIMATE
from djstruct.postprocess import phase as phasemod
from djstruct.postprocess import pipeline
from djstruct.postprocess import sections as secmod
from djstruct.postprocess.cue_style import CueStyle, pick_cues
from djstruct.postprocess.labels import inner_changes, labels_from_probs, sections_from_bounds
from djstruct.signal import active_span, band_power_from_mel, model_mel_band_index
from djstruct.types import Analysis, Energy

POST_REVISION = 5  # bump when post-processing changes results, so stored analyses are redone


@dataclass(frozen=True)
class PostConfig:
    """Post-processing parameters (the trained checkpoint may carry a tuned ``boundary_threshold``)."""

    bpm_range: tuple[float, float] = (88.0, 186.0)
    boundary_threshold: float = 0.3
    min_section_bars: int = 4
    min_end_bars: int = 8  # the last section is at least this long (no 4-bar tail over a fade)
    ring_out_bars: int = 2  # at most this many last bars that only ring out the final hit end no section
    ring_out_decay_db: float = 15.0  # ... bars whose level falls this much, no beat heard after the first
    boundary_radius_beats: float = 0.5  # look for the boundary peak within +- this around a downbeat
    novelty_bars: int = 4  # embedding novelty: compare the mean embedding of this many bars before/after
    novelty_weight: float = 1.0  # embedding novelty's weight (0: none; with the band novelty 0 too: head only)
    band_novelty_weight: float = 1.0  # band-level novelty (bass/mid/high in or out) beside the embedding's
    band_novelty_percentile: float = 95.0  # ... scaled so that this percentile of a track's bars scores 1
    keep_same_label: float = 0.5  # a boundary whose (phrase-weighted) score reaches this stays even
    # between two sections with the same label, if that label is one of ``split_same``
    split_same: tuple[str, ...] = ("intro", "drop", "breakdown", "outro")  # labels whose same-label
    # neighbours may stay apart: drums entering mid-intro, the groove back mid-breakdown, a double drop,
    # the bass leaving mid-outro (revision 3: drops only); a buildup is one run-up, rolls and all
    new_section_same: tuple[str, ...] = ("drop",)  # of those, the labels whose kept boundary starts a new
    # section (a double drop); for the others it is a change inside one section (``Analysis.changes``:
    # the drums entering mid-intro are still the intro, but a part a DJ cues). Revision 4: all of them
    label_grammar: bool = True  # intros only at the start, outros only at the end (labels.grammar_labels)
    label_ends: bool = True  # ... and (3+ sections) the track opens on its intro and ends on its outro
    phase_spec: float = 0.5  # bar phase: weight of spectral change beside the downbeat head (phase.py)
    phase_low: float = 0.5  # ... and of the low-band level
    phase_gate: float = 0.6  # ... heard only where the head's relative margin is below this
    min_beat_support: float = 0.1  # below this mean beat activation at the grid's beats: no beat at all
    full_beat_support: float = 0.5  # below this the confidence is scaled down (drifting tempo, no groove)
    half_time_ratio: float = 3.0  # halve the tempo when the head's 8-beat bars are this clear (0: never)
    half_time_alternation: float = 2.0  # ... and the beat head hears every other beat this much louder
    half_time_bpm: tuple[float, float] = (70.0, 90.0)  # ... and the half tempo lies in this range

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PostConfig:
        """From a checkpoint's ``extra["postprocess"]`` (unknown keys ignored)."""
        conv = {"bpm_range": tuple, "half_time_bpm": tuple, "split_same": tuple, "new_section_same": tuple,
                "min_section_bars": int, "min_end_bars": int, "novelty_bars": int, "ring_out_bars": int}
        return cls(**{k: conv.get(k, lambda x: x)(v) for k, v in d.items() if k in cls.__dataclass_fields__})


def _energy(e: np.ndarray, fps: float) -> Energy:
    n = len(e) // MODEL_ENERGY_DECIMATE
    m = e[: n * MODEL_ENERGY_DECIMATE].reshape(n, MODEL_ENERGY_DECIMATE, 3).mean(axis=1).astype(np.float32)
    return Energy(MODEL_ENERGY_DECIMATE / fps, m[:, 0], m[:, 1], m[:, 2])


def _embedding_novelty(emb: np.ndarray, fps: float, bar_starts: np.ndarray, end_s: float, width: int,
                       min_bars: int) -> np.ndarray:
    """Per-bar novelty (n_bars,): cosine novelty of the bars' mean embeddings over ``width`` bars,
    divided by the largest among the bars a section may start at (:func:`.sections.scale_inner`)."""
    feats = secmod.aggregate(np.asarray(emb, dtype=np.float64), fps, np.append(bar_starts, end_s))
    return secmod.scale_inner(secmod.cosine_novelty(feats, width), min_bars)


def _band_novelty(mel_db: np.ndarray, fps: float, bar_starts: np.ndarray, end_s: float, min_bars: int,
                  percentile: float) -> np.ndarray:
    """Per-bar novelty (n_bars,) of the bass/mid/high/overall levels heard in the log-mel (the
    ``dsp`` detector's evidence: drums or bass in or out, a breakdown, the full groove back),
    divided by its ``percentile`` over the bars a section may start at."""
    power = band_power_from_mel(mel_db, model_mel_band_index())
    levels = secmod.bar_levels_db(power, fps, np.append(bar_starts, end_s))
    return secmod.scale_inner(secmod.two_scale_novelty(secmod.weighted_levels(levels)), min_bars, percentile)


def boundary_score(act: dict[str, np.ndarray], fps: float, edges: np.ndarray, end_s: float, radius: int,
                   cfg: PostConfig) -> tuple[np.ndarray, np.ndarray]:
    """(score, head) per bar: ``head`` is the boundary head's largest activation within ``radius``
    frames of each bar start; ``score`` the larger of the head and the novelty, the mean of the
    embedding novelty and (weighted ``band_novelty_weight``) the band-level novelty."""
    head = pipeline.max_around(act["boundary"], edges, fps, radius)
    if len(edges) < 2:
        return head, head
    parts, weights = [], []
    if cfg.novelty_weight > 0 and act.get("embedding") is not None:
        parts.append(_embedding_novelty(act["embedding"], fps, edges, end_s, cfg.novelty_bars, cfg.min_section_bars))
        weights.append(cfg.novelty_weight)
    if cfg.band_novelty_weight > 0 and act.get("mel") is not None:
        parts.append(_band_novelty(act["mel"], fps, edges, end_s, cfg.min_section_bars, cfg.band_novelty_percentile))
        weights.append(cfg.band_novelty_weight)
    if not parts:
        return head, head
    if len(parts) == 1:  # one kind of novelty: its weight scales it (novelty_weight's old meaning)
        return np.maximum(head, weights[0] * parts[0]), head
    return np.maximum(head, np.average(np.stack(parts), axis=0, weights=weights)), head


def postprocess(act: dict[str, np.ndarray], fps: float, duration_s: float, loudness_db: np.ndarray, *,
                path: str = "", name: str = "ml", cfg: PostConfig | None = None,
                style: CueStyle | None = None) -> Analysis:
    """Analysis from one track's activations: ``beat``, ``downbeat``, ``boundary``, ``drop`` (T,),
    ``energy`` (T, 3), ``label`` (T, 5) probabilities at ``fps``, optionally ``embedding`` (T, d)
    for embedding novelty and ``mel`` (T, n_mels) dB log-mel as bar-phase evidence; ``loudness_db``
    (T,) frame level. With a cue ``style``, its cue points too."""
    cfg = cfg or PostConfig()
    energy = _energy(act["energy"], fps)
    span = active_span(loudness_db, fps)
    if span is None:
        return pipeline.trivial(path, duration_s, energy, name)
    g = pipeline.beat_grid(act["beat"].astype(np.float64), fps, span, duration_s, cfg.bpm_range)
    if g is None:
        return pipeline.trivial(path, duration_s, energy, name)
    if len(g.beats) < pipeline.MIN_BEATS:
        return pipeline.trivial(path, duration_s, energy, name, g.bpm, g.beats)
    support = pipeline.beat_support(act["beat"], fps, g.beats)
    if support < cfg.min_beat_support:  # noise, or sound without a beat: no grid to snap cues to
        return pipeline.trivial(path, duration_s, energy, name)
    g = phasemod.half_time(g, act["beat"], act["downbeat"], fps, ratio=cfg.half_time_ratio,
                           alternation=cfg.half_time_alternation, bpm_range=cfg.half_time_bpm)
    ev = phasemod.phase_evidence(act["downbeat"].astype(np.float64), act.get("mel"), fps, g.beats)
    phase = phasemod.choose_phase(ev, phasemod.PhaseWeights(cfg.phase_spec, cfg.phase_low, cfg.phase_gate))
    bars = pipeline.bars(g.beats, phase, g.period_s, span[1], duration_s)
    if not bars.whole:
        return pipeline.trivial(path, duration_s, energy, name, g.bpm, bars.beats)
    bars = bars.cut(pipeline.ring_out_bars(loudness_db, act["beat"], fps, bars, g.period_s,
                                           max_bars=cfg.ring_out_bars, decay_db=cfg.ring_out_decay_db))
    edges = bars.starts
    radius = max(1, int(round(cfg.boundary_radius_beats * g.period_s * fps)))
    bscore, head = boundary_score(act, fps, edges, bars.end_s, radius, cfg)
    picked, score, weight = pipeline.boundaries(bscore, threshold=cfg.boundary_threshold,
                                                min_bars=cfg.min_section_bars, end_bars=cfg.min_end_bars)
    bounds = np.array([edges[0]] + [edges[i] for i in picked] + [bars.end_s])
    labels = labels_from_probs(act["label"], fps, bounds, grammar=cfg.label_grammar, ends=cfg.label_ends)
    kept = [score[i] >= cfg.keep_same_label and labels[k + 1] in cfg.split_same for k, i in enumerate(picked)]
    new_section = [lab in cfg.new_section_same for lab in labels[1:]]  # per inner boundary
    sections = sections_from_bounds(bounds, labels, merge_same=True,
                                    keep=[k and n for k, n in zip(kept, new_section, strict=True)])
    changes = inner_changes(bounds, labels, [k and not n for k, n in zip(kept, new_section, strict=True)])
    contrast = float(np.mean([head[i] * weight[i] for i in picked])) if picked else 0.0  # the head's own certainty
    analysis = Analysis(
        path=path, duration_s=duration_s, bpm=g.bpm,
        beats=tuple(float(x) for x in bars.beats), downbeats=tuple(float(x) for x in bars.downbeats),
        sections=tuple(sections), drops=pipeline.drops_of(sections), energy=energy, detector=name,
        changes=changes,
        confidence=float(np.clip((0.5 * g.fit_quality + 0.5 * contrast)
                                 * min(1.0, support / max(cfg.full_beat_support, 1e-9)), 0.0, 1.0)),
    )
    if style is not None:
        analysis = replace(analysis, cue_points=pick_cues(style, analysis))
    return analysis
