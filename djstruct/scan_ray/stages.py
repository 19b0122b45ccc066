"""The per-track work of a Ray scan, one callable per pipeline stage; they run in Ray workers
and import no Ray themselves. A row travels through them as a dict of plain values:

- ``i`` (int: the track's place in the driver's list), ``path`` (str); ``size``, ``mtime_ns`` (int,
  -1 unknown) and ``audio_hash`` (str, "" unknown):
  the fingerprint, taken before decoding exactly as the local pool's worker takes it;
- ``duration_s`` (float); ``wave`` (bytes: mono float32 samples at the analysis rate, between
  decoding and the model); ``act`` (bytes: the model's activations, ``.npz``, between the model
  and post-processing);
- ``analysis`` (str: the Analysis JSON, "" until known) and ``error`` (str, "" when none).

Stages: :func:`decode_row` (CPU task: fingerprint, decode, and for a detector that does not batch
the whole analysis), :class:`ModelStage` (actor: the weights are loaded once per actor, a batch of
tracks runs at once on its device), :func:`post_row` (CPU task: the pure-numpy post-processing).
Every failure becomes the row's ``error``; nothing a track does ends the pipeline.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.audio import load_audio
from djstruct.audio.fingerprint import Fingerprint, fingerprint
from djstruct.constants import MODEL_FPS
from djstruct.detect import ml
from djstruct.detect.base import Detector, get_detector
from djstruct.errors import DjstructError, ModelError
from djstruct.postprocess.activations import PostConfig
from djstruct.postprocess.cue_style import CueStyle
from djstruct.signal import to_analysis_rate
from djstruct.types import Analysis

log = logging.getLogger(__name__)

_DETECTORS: dict[str, Detector] = {}  # per worker process: (name, options) -> detector, built once


def analysis_json(analysis: Analysis) -> str:
    """The Analysis as the store keeps it (compact JSON of ``to_dict``)."""
    return json.dumps(analysis.to_dict(), separators=(",", ":"))


def row_fingerprint(row: dict[str, Any]) -> Fingerprint | None:
    """The row's fingerprint, None when it could not be taken."""
    if int(row["size"]) < 0:
        return None
    return Fingerprint(int(row["size"]), int(row["mtime_ns"]), str(row["audio_hash"]) or None)


def crash_message(path: str, e: BaseException) -> str:
    """A failure that is no DjstructError, as the local pool reports a crashed worker."""
    return f"{path}: {type(e).__name__}: {e}"


def _detector(name: str, options: dict[str, Any], version: str) -> Detector:
    key = json.dumps([name, options], sort_keys=True, default=str)
    det = _DETECTORS.get(key)
    if det is None:
        det = _DETECTORS[key] = get_detector(name, **options)
    if det.version != version:
        raise ModelError(None, f"this worker's {name} detector is version {det.version}, the driver's {version}: "
                               "install the same djstruct and weights on every node")
    return det


def decode_row(row: dict[str, Any], *, detector: str, options: dict[str, Any], version: str, sample_rate_hz: int,
               max_duration_s: float | None, batched: bool) -> dict[str, Any]:
    """Fingerprint and decode one track; a detector that does not batch analyses it here too."""
    path = str(row["path"])
    out: dict[str, Any] = {"i": int(row["i"]), "path": path, "size": -1, "mtime_ns": -1, "audio_hash": "",
                           "duration_s": 0.0, "wave": b"", "act": b"", "analysis": "", "error": ""}
    p = Path(path)
    try:
        fp = fingerprint(p)
        out.update(size=fp.size, mtime_ns=fp.mtime_ns, audio_hash=fp.audio_hash or "")
    except DjstructError:
        pass
    try:
        audio = load_audio(p, sample_rate_hz, max_duration_s=max_duration_s)
        out["duration_s"] = float(audio.duration_s)
        if not batched:
            out["analysis"] = analysis_json(_detector(detector, options, version).analyze(audio))
        elif (short := ml.too_short(audio, detector)) is not None:
            out["analysis"] = analysis_json(short)
        else:
            out["wave"] = to_analysis_rate(audio.samples, audio.sample_rate_hz).tobytes()
    except DjstructError as e:
        out["error"] = str(e)
    except Exception as e:  # a crash on one file must not end the batch
        log.debug("decode failed on %s", path, exc_info=True)
        out["error"] = crash_message(path, e)
    return out


def pack(act: dict[str, np.ndarray]) -> bytes:
    """Activations (name -> array) as ``.npz`` bytes, bit for bit."""
    buf = io.BytesIO()
    np.savez(buf, **act)
    return buf.getvalue()


def unpack(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


class ModelStage:
    """The model, as a Ray actor: builds the detector (loads the weights) once, then turns each
    batch of decoded rows into activations with :meth:`MlDetector.batch_activations` (batches of
    similar lengths, bf16 autocast on CUDA, halved on out-of-memory). When a batch fails, its
    tracks are run one at a time so that one bad track does not sink the rest. ``post=True``: the
    actor post-processes its rows too (:func:`post_row`; for actors on CPUs, where a separate
    post-processing task would wait for a CPU that decoding holds)."""

    def __init__(self, detector: str, options: dict[str, Any], version: str, post: bool = False) -> None:
        det = _detector(detector, options, version)
        if not isinstance(det, ml.MlDetector):
            raise ModelError(None, f"the {detector} detector does not run in a model actor")
        self.det = det
        self.post = post

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(batch["path"])
        acts: list[bytes] = [b""] * n
        errors = [str(e) for e in batch["error"]]
        todo = [i for i in range(n) if len(batch["wave"][i]) and not errors[i]]
        waves = [np.frombuffer(batch["wave"][i], dtype=np.float32) for i in todo]
        paths = [str(batch["path"][i]) for i in todo]
        try:
            for i, act in zip(todo, self.det.batch_activations(waves, paths), strict=True):
                acts[i] = pack(act)
        except DjstructError:
            for i, wave, path in zip(todo, waves, paths, strict=True):
                try:
                    acts[i] = pack(self.det.batch_activations([wave], [path])[0])
                except DjstructError as e:
                    errors[i] = str(e)
                except Exception as e:
                    errors[i] = crash_message(path, e)
        out = dict(batch)
        out["wave"] = _objects([b""] * n)
        out["act"] = _objects(acts)
        out["error"] = _objects(errors)
        if self.post:
            rows = [post_row({k: v[i] for k, v in out.items()}, name=self.det.name, post=self.det.post,
                             style=self.det.style) for i in range(n)]
            out = {k: _objects([r[k] for r in rows]) for k in rows[0]} if rows else out
            out.pop("act", None)
            out.pop("wave", None)
        return out


def _objects(values: list[Any]) -> np.ndarray:
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return a


def post_row(row: dict[str, Any], *, name: str, post: PostConfig, style: CueStyle | None) -> dict[str, Any]:
    """The Analysis JSON from a row's activations (rows that have an analysis or an error pass)."""
    out = dict(row)
    act = out.pop("act", b"")
    out.pop("wave", None)
    if out["error"] or out["analysis"] or not act:
        if not (out["error"] or out["analysis"]):
            out["error"] = f"{out['path']}: no result"
        return out
    try:
        a = ml.finish(unpack(act), MODEL_FPS, float(out["duration_s"]), str(out["path"]), name=name, post=post,
                      style=style)
        out["analysis"] = analysis_json(a)
    except DjstructError as e:
        out["error"] = str(e)
    except Exception as e:
        out["error"] = crash_message(str(out["path"]), e)
    return out
