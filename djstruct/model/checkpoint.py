"""Checkpoints: a ``torch.save``'d dict of plain types (loaded with ``weights_only=True``)::

    {"format": "djstruct-model", "format_version": 1, "djstruct_version": "...",
     "config": ModelConfig.to_dict(), "state_dict": {...}, "metrics": {...}, "extra": {...}}

The model is rebuilt from ``config``; anything that does not match raises :class:`ModelError`.
Saving goes to a file object (not a path), so the same model always hashes the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from djstruct import __version__
from djstruct.errors import ModelError
from djstruct.model.config import ModelConfig
from djstruct.model.model import StructureModel
from djstruct.safe_write import atomic_write, file_sha256

FORMAT = "djstruct-model"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt ``model`` (eval mode) and what came with it."""

    model: StructureModel
    config: ModelConfig
    metrics: dict[str, Any]
    extra: dict[str, Any]
    sha256: str
    path: Path | None
    djstruct_version: str = ""



def save_checkpoint(path: str | Path, model: StructureModel, config: ModelConfig | None = None,
                    metrics: dict[str, Any] | None = None, *, extra: dict[str, Any] | None = None) -> str:
    """Write ``model`` with its config atomically to ``path``; returns the file's sha256."""

    config = config or model.config
    if config.backbone == "mert" and config.mert_config is None:
        config = config.replace(mert_config=model.backbone.hubert_config_dict())
    obj = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "djstruct_version": __version__,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metrics": dict(metrics or {}),
        "extra": dict(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object, not a path: torch would name the zip records after the
            torch.save(obj, fh)  # (random) temporary file name and the same model would hash differently

    atomic_write(path, fill, mode=0o644, error=ModelError)  # a model file is meant to be shared/shipped
    return file_sha256(path)


def load_checkpoint(path: str | Path, *, expected_sha256: str | None = None,
                    map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and rebuild a model; every problem is a :class:`ModelError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(path, "model file not found; run `djstruct models list` to see installed models, "
                         "or reinstall djstruct to restore the default weights")
    sha = file_sha256(path)
    if expected_sha256 is not None and sha != expected_sha256:
        raise ModelError(path, f"sha256 mismatch (expected {expected_sha256[:12]}..., got {sha[:12]}...): the "
                         "file is corrupt or was replaced; reinstall djstruct or retrain the model")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch.load fails in many ways on a damaged file (EOFError, IndexError, ...)
        raise ModelError(path, f"not a readable djstruct checkpoint ({type(e).__name__}: {e}); the file is "
                         "truncated or not a model: reinstall or retrain it") from e
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ModelError(path, "not a djstruct model checkpoint")
    if obj.get("format_version") != FORMAT_VERSION:
        raise ModelError(path, f"checkpoint format version {obj.get('format_version')!r}, this djstruct reads "
                         f"version {FORMAT_VERSION}: upgrade djstruct or retrain with this version")
    try:
        cfg = ModelConfig.from_dict(obj["config"])
    except ModelError as e:
        raise ModelError(path, e.reason) from e
    except (KeyError, TypeError) as e:
        raise ModelError(path, f"checkpoint config is invalid ({e}); retrain the model") from e
    try:
        model = StructureModel(cfg)
    except ModelError as e:
        raise ModelError(path, e.reason) from e
    try:
        model.load_state_dict(obj["state_dict"], strict=True)
    except (KeyError, RuntimeError) as e:
        msg = " ".join(str(e).split())[:300]
        raise ModelError(path, f"weights do not match the {cfg.backbone} model described by the checkpoint's "
                         f"config ({msg}); the checkpoint is inconsistent: retrain it") from e
    model.eval()
    return Checkpoint(model, cfg, dict(obj.get("metrics") or {}), dict(obj.get("extra") or {}), sha, path,
                      str(obj.get("djstruct_version", "")))
