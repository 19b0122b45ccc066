"""The trained detector, in rungs: a file -> :class:`~djstruct.types.Analysis`
(:func:`djstruct.detect.base.analyze_file`), audio -> Analysis (:meth:`MlDetector.analyze_batch`),
waveforms -> activations (:meth:`MlDetector.activations`), activations -> Analysis
(:func:`djstruct.postprocess.activations.postprocess`, pure numpy).

``MlDetector(model="default")`` loads weights by name (see :mod:`djstruct.model.registry`) and runs
a padded batch of tracks through the model once (bf16 autocast on CUDA; the batch is halved when
the GPU runs out of memory).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from djstruct.constants import ANALYSIS_RATE_HZ
from djstruct.errors import DetectorError, ModelError
from djstruct.model.registry import TINY_SHA256, load_model
from djstruct.model.registry import find as find_model
from djstruct.postprocess import pipeline
from djstruct.postprocess.activations import POST_REVISION, PostConfig, postprocess
from djstruct.postprocess.cue_style import CueStyle
from djstruct.safe_write import file_sha256
from djstruct.signal import to_analysis_rate
from djstruct.types import Analysis, Audio

log = logging.getLogger(__name__)

MIN_SAMPLES = 4096


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_version(model: str = "default") -> str:
    """The ``version`` that ``MlDetector(model)`` reports, without torch or loading the weights (a
    driver that only plans, as the Ray engine's): the weights' sha256 (recorded for the shipped
    models, else hashed from the file) and the post-processing revision."""
    e = find_model(model)
    if e.path is None:  # tiny-random, built on the fly
        return _version(TINY_SHA256)
    if e.sha256 is not None:
        return _version(e.sha256)
    if not e.path.is_file():
        raise ModelError(e.path, "model file not found")
    return _version(file_sha256(e.path))


def _version(sha256: str) -> str:
    return f"{sha256[:12]}.p{POST_REVISION}"  # weights + post-processing revision


def too_short(audio: Audio, name: str) -> Analysis | None:
    """The trivial Analysis of a track too short for the model (under ``MIN_SAMPLES``), else None."""
    if len(audio.samples) >= MIN_SAMPLES:
        return None
    return pipeline.trivial("" if audio.path is None else str(audio.path), audio.duration_s, None, name)


def finish(act: dict[str, np.ndarray], fps: float, duration_s: float, path: str, *, name: str, post: PostConfig,
           style: CueStyle | None) -> Analysis:
    """One track's Analysis from its :meth:`MlDetector.activations` (``loudness_db`` included; the
    dict is not changed): pure numpy, so it may run apart from the model (the Ray engine does)."""
    act = dict(act)
    loud = act.pop("loudness_db")
    try:
        return postprocess(act, fps, duration_s, loud, path=path, name=name, cfg=post, style=style)
    except (ValueError, IndexError, FloatingPointError) as e:  # a batch never dies on one track
        raise DetectorError(path or None, f"post-processing failed: {e}") from e


class MlDetector:
    """Tempo, beats, downbeats, sections, labels, drops and energy from the trained structure model."""

    name = "ml"
    sample_rate_hz = ANALYSIS_RATE_HZ
    batched = True

    def __init__(self, model: str = "default", device: str = "auto", batch_size: int = 8,
                 threads: int | None = None, boundary_threshold: float | None = None) -> None:
        import torch

        self.device = _pick_device(device)
        try:
            ck = load_model(model)
        except ModelError as e:
            if model != "default":
                raise
            raise ModelError(e.path, f"{e.reason} (`--detector dsp` analyses without a model)") from e
        self.model_name = model
        self.model = ck.model.to(self.device).eval()
        self.version = _version(ck.sha256)
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
            out[i] = too_short(a, self.name)
            if out[i] is None:
                waves[i] = to_analysis_rate(a.samples, a.sample_rate_hz)
        idx = list(waves)
        acts = self.batch_activations([waves[i] for i in idx], [audios[i].path for i in idx])
        for i, act in zip(idx, acts, strict=True):
            a = audios[i]
            out[i] = finish(act, fe.FPS, a.duration_s, "" if a.path is None else str(a.path), name=self.name,
                            post=self.post, style=self.style)
        return [x for x in out if x is not None]

    def batch_activations(self, waves: Sequence[np.ndarray],
                          paths: Sequence[str | Path | None] | None = None) -> list[dict[str, np.ndarray]]:
        """:meth:`activations` of many waveforms, in their order: run in batches of ``batch_size``
        (at most 4 on the CPU) of similar lengths; a batch is halved when the GPU runs out of
        memory (and ``batch_size`` with it, for the batches that follow). DetectorError (naming
        the batch's first path) when the model fails."""
        out: list[dict[str, np.ndarray] | None] = [None] * len(waves)
        order = sorted(range(len(waves)), key=lambda i: len(waves[i]))  # similar lengths pad least
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
                    bs = self.batch_size = max(1, len(chunk) // 2)  # later batches start there
                    log.warning("out of memory with %d tracks per batch; retrying with %d", len(chunk), bs)
                    continue
                raise DetectorError(None if paths is None else paths[chunk[0]], f"model failed: {e}") from e
            for i, act in zip(chunk, acts, strict=True):
                out[i] = act
            pos += len(chunk)
        return [x for x in out if x is not None]

    def activations(self, waves: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Model activations for mono 22050 Hz waveforms, each cropped to its own frame count; dicts
        with ``beat``, ``downbeat``, ``boundary``, ``drop`` (T,), ``energy`` (T, 3), ``label`` (T, 5),
        ``embedding`` (T, d_model), ``mel`` (T, 80) log-mel, ``loudness_db`` (T,)."""
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
            d["mel"] = mel[i, :t].cpu().numpy()  # bar-phase evidence (postprocess.phase)
            d["loudness_db"] = fe.loudness_db(d["mel"])
            res.append(d)
        return res
