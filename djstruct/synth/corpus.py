"""Write a synthetic corpus: ``NAME.<ext>`` audio plus ``NAME.json`` ground truth per track.

Track ``index`` of corpus ``seed`` is named ``synth-{seed}-{index:03d}-{genre}`` and encoded in
``formats[index % len(formats)]`` (all of :data:`djstruct.synth.encode.FORMATS` by default), so
a corpus of nine or more tracks covers every format and, with five genres, every pairing over 45.
The JSON is written after the audio (atomically), so a JSON file means a complete track.
``engine="sampled"`` renders with :mod:`djstruct.synth.sampled` from sound pool ``pool`` instead
(names ``sampled-{pool}-{seed}-{index:03d}-{genre}``).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.errors import ConfigError, DjstructError, EncodeError
from djstruct.safe_write import atomic_write_text
from djstruct.synth.encode import FORMATS, encode
from djstruct.synth.render import SR, genre_for, render_track
from djstruct.synth.sampled.registry import check_pool, require

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, Path], Any]


ENGINES: tuple[str, ...] = ("synth", "sampled")


def track_name(seed: int, index: int, engine: str = "synth", pool: str = "train") -> str:
    """File stem of a corpus track, e.g. ``synth-7-003-dubstep`` or ``sampled-heldout-7-003-ukg``."""
    if engine == "sampled":
        from djstruct.synth.sampled import track_name as sampled_name

        return sampled_name(seed, index, pool)
    return f"synth-{seed}-{index:03d}-{genre_for(seed, index)}"


def _encoders() -> tuple[dict[str, str], Callable[..., Path] | None]:
    """``(FORMATS, encode)`` from :mod:`djstruct.synth.encode`, or a WAV-only fallback."""
    return dict(FORMATS), encode


def _write_audio(audio: np.ndarray, path: Path, fmt: str) -> Path:
    """Encode ``audio`` ((n, 2) float32 at 44.1 kHz) to ``path`` in ``fmt``; returns the file written."""
    _, encode = _encoders()
    if encode is not None:
        return Path(encode(audio, SR, path, fmt))
    if fmt != "wav":
        raise EncodeError(path, f"format {fmt!r} needs djstruct.synth.encode, which is not installed")
    import soundfile as sf

    sf.write(str(path), audio, SR, subtype="FLOAT")
    return path


def _truth_json(truth: dict[str, Any]) -> str:
    """JSON with one top-level key per line (beat lists stay on one line)."""
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in truth.items())
    return "{\n" + body + "\n}\n"


def write_track(out_dir: str | Path, seed: int, index: int, fmt: str, ext: str, short: bool = False,
                variety: float = 0.0, engine: str = "synth", pool: str = "train") -> Path:
    """Render, encode and describe one track; returns its JSON path. Runs in worker processes."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    name = track_name(seed, index, engine, pool)
    if engine == "sampled":
        from djstruct.synth.sampled import render_track as render_sampled

        audio, truth = render_sampled(seed, index, pool, short=short)
    else:
        audio, truth = render_track(seed, index, short=short, variety=variety)
    t1 = time.perf_counter()
    audio_path = _write_audio(audio, out / f"{name}.{ext.lstrip('.')}", fmt)
    json_path = out / f"{name}.json"
    atomic_write_text(json_path, _truth_json({"file": audio_path.name, **truth}), error=EncodeError)
    logger.info("%s: rendered %.1f s of audio in %.2f s, encoded %s in %.2f s", name, truth["duration_s"],
                t1 - t0, fmt, time.perf_counter() - t1)
    return json_path


def _job(args: tuple[str, int, int, str, str, bool, float, str, str]) -> tuple[int, str | None, str | None]:
    """Pool entry point: ``(index, json path, None)`` or ``(index, None, reason)``; never raises."""
    out_dir, seed, index, fmt, ext, short, variety, engine, pool = args
    try:
        return index, str(write_track(out_dir, seed, index, fmt, ext, short, variety, engine, pool)), None
    except DjstructError as e:
        return index, None, e.reason
    except Exception as e:  # a batch never dies on one track: report it with the others
        logger.exception("track %d failed", index)
        return index, None, f"{type(e).__name__}: {e}"


def render_corpus(out_dir: Path, n: int, seed: int, formats: Sequence[str] | None = None,
                  workers: int = 1, progress: ProgressFn | None = None, *, short: bool = False,
                  variety: float = 0.0, engine: str = "synth", pool: str = "train") -> list[Path]:
    """Render ``n`` tracks of corpus ``seed`` into ``out_dir`` and return their JSON paths (by index).

    ``formats`` are cycled through by track index (``None``: every format the encoder knows);
    ``workers`` > 1 renders in a spawn-based process pool; ``progress(done, n, json_path)`` is
    called in this process after each track. Tracks that fail are logged and skipped; if any
    failed, :class:`EncodeError` lists them once all the others are written. ``short=True``
    renders compact test tracks and ``variety`` varies the sections' sound (see
    :func:`~djstruct.synth.render.render_track`). ``engine="sampled"`` renders from recorded sounds
    of sound pool ``pool`` (``variety`` is then not allowed); a missing Debian sound package is
    reported before anything is written.
    """
    if n < 0:
        raise ConfigError(None, f"number of tracks must be >= 0, got {n}")
    if engine not in ENGINES:
        raise ConfigError(None, f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if engine == "sampled":
        if variety:
            raise ConfigError(None, "--variety applies to the synth engine only")

        check_pool(pool)
        require(pool)
    known, _ = _encoders()
    fmts = list(known) if formats is None else list(formats)
    if not fmts:
        raise ConfigError(None, "no audio formats given")
    unknown = [f for f in fmts if f not in known]
    if unknown:
        raise ConfigError(None, f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(str(out_dir), seed, i, fmts[i % len(fmts)], known[fmts[i % len(fmts)]], short, variety, engine, pool)
            for i in range(n)]

    done: dict[int, Path] = {}
    failed: list[str] = []

    def collect(res: tuple[int, str | None, str | None]) -> None:
        index, path, reason = res
        if path is None:
            logger.error("%s: %s", track_name(seed, index, engine, pool), reason)
            failed.append(f"{track_name(seed, index, engine, pool)} ({reason})")
        else:
            done[index] = Path(path)
        if progress is not None:
            progress(len(done) + len(failed), n, Path(path) if path else out_dir)

    t0 = time.perf_counter()
    if workers <= 1 or n <= 1:
        for job in jobs:
            collect(_job(job))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=ctx) as pool:
            for fut in as_completed([pool.submit(_job, job) for job in jobs]):
                collect(fut.result())
    logger.info("wrote %d of %d tracks to %s in %.1f s", len(done), n, out_dir, time.perf_counter() - t0)
    if failed:
        raise EncodeError(out_dir, f"{len(failed)} of {n} tracks failed: {'; '.join(failed[:5])}")
    return [done[i] for i in sorted(done)]
