"""The detector interface and registry.

A detector turns decoded audio into an :class:`~djstruct.types.Analysis`. Each rung delegates to
the one below: ``analyze_file`` (path -> Analysis) decodes and calls ``Detector.analyze``
(Audio -> Analysis); ``analyze_batch`` lets a model detector run many tracks at once.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from djstruct.audio import load_audio
from djstruct.constants import MAX_DURATION_S
from djstruct.errors import ConfigError
from djstruct.types import Analysis, Audio

log = logging.getLogger(__name__)


@runtime_checkable
class Detector(Protocol):
    """What every detector provides."""

    name: str
    version: str
    sample_rate_hz: int

    def analyze(self, audio: Audio) -> Analysis:
        """Analyse one decoded track (mono, at ``sample_rate_hz``)."""
        ...

    def analyze_batch(self, audios: Sequence[Audio]) -> list[Analysis]:
        """Analyse several tracks; a model detector batches them on its device."""
        ...


# name -> "module:factory"; factories take keyword options and return a Detector (imported when asked for).
_REGISTRY: dict[str, str] = {
    "dsp": "djstruct.detect.dsp:DspDetector",
    "ml": "djstruct.detect.ml:MlDetector",
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def default_detector_name() -> str:
    """``ml`` (the shipped model); ``dsp`` is the weight-free fallback (``--detector dsp``)."""
    return "ml"


def get_detector(name: str | None = None, **options: object) -> Detector:
    """Build the detector registered as ``name`` (default: the project default)."""
    name = name or default_detector_name()
    target = _REGISTRY.get(name)
    if target is None:
        raise ConfigError(None, f"unknown detector {name!r}; choose one of: {', '.join(available())}")
    mod_name, attr = target.split(":")
    factory: Callable[..., Detector] = getattr(importlib.import_module(mod_name), attr)
    return factory(**options)


def analyze_file(path: str | Path, detector: Detector, *, max_duration_s: float | None = MAX_DURATION_S) -> Analysis:
    """Decode ``path`` at the detector's rate and analyse it. Raises DjstructError subclasses."""
    audio = load_audio(Path(path), detector.sample_rate_hz, max_duration_s=max_duration_s)
    return detector.analyze(audio)
