"""The structure model, its configuration and checkpoints.

``StructureModel(cfg)``: backbone -> encoder (beat branch + whole-track structure branch) -> heads.
``model(x, mask)`` returns logits at 43.07 Hz (see :mod:`djstruct.model.heads`);
``model.prepare(waves)`` turns mono 22050 Hz waveforms into the backbone's input.

A checkpoint is a ``torch.save``'d dict of plain types (loaded with ``weights_only=True``)::

    {"format": "djstruct-model", "format_version": 1, "djstruct_version": "...",
     "config": ModelConfig.to_dict(), "state_dict": {...}, "metrics": {...}, "extra": {...}}

The model is rebuilt from ``config``; anything that does not match raises :class:`ModelError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from djstruct.errors import ModelError
from djstruct.model import frontend as fe
from djstruct.model.backbone import build_backbone
from djstruct.model.encoder import Encoder
from djstruct.model.heads import Heads
from djstruct.safe_write import atomic_write, file_sha256

FORMAT = "djstruct-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelConfig:
    """Every hyper-parameter of the model and its losses (stored in each checkpoint)."""

    backbone: str = "mel"  # "mel" or "mert"
    n_mels: int = fe.N_MELS
    stem_channels: tuple[int, ...] = (8, 16)
    stem_pools: tuple[int, ...] = (4, 2)  # mel-axis pooling after each stem conv
    d_model: int = 80
    tcn_layers: int = 6
    tcn_kernel: int = 5
    struct_pool: int = 16  # 43.07 / 16 = 2.7 Hz (5 tokens per bar at 128 BPM) for the structure transformer
    struct_dim: int = 96
    struct_layers: int = 3
    struct_heads: int = 4
    struct_ff: int = 192
    dropout: float = 0.1
    # mert backbone
    mert_path: str | None = None
    mert_config: dict[str, Any] | None = None  # HubertConfig as a dict (filled in when saving)
    mert_trainable_layers: int = 2
    mert_chunk_s: float = 10.0  # the encoder runs on chunks of this length (MERT was trained on 5 s clips)
    # losses
    loss_weights: dict[str, float] = field(default_factory=lambda: {
        "beat": 1.0, "downbeat": 1.0, "boundary": 1.5, "drop": 1.0, "energy": 2.0, "label": 0.5})
    tolerances: dict[str, int] = field(default_factory=lambda: {
        "beat": 1, "downbeat": 1, "boundary": 3, "drop": 3})
    pos_weights: dict[str, float] = field(default_factory=lambda: {
        "beat": 2.0, "downbeat": 4.0, "boundary": 10.0, "drop": 10.0})

    @property
    def fps(self) -> float:
        return fe.FPS

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stem_channels"] = list(self.stem_channels)
        d["stem_pools"] = list(self.stem_pools)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelError(None, f"model config has unknown keys {unknown} (made by a newer djstruct?)")
        d = dict(d)
        for k in ("stem_channels", "stem_pools"):
            if k in d:
                d[k] = tuple(int(c) for c in d[k])
        return cls(**d)

    def replace(self, **kw: Any) -> ModelConfig:
        return dataclasses.replace(self, **kw)


def tiny_config(backbone: str = "mel") -> ModelConfig:
    """A few-thousand-parameter model for tests."""
    return ModelConfig(backbone=backbone, stem_channels=(4, 8), stem_pools=(4, 2), d_model=16, tcn_layers=2,
                       tcn_kernel=3, struct_dim=16, struct_layers=1, struct_heads=2, struct_ff=32, dropout=0.0)


class StructureModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.backbone = build_backbone(cfg)
        self.encoder = Encoder(cfg)
        self.heads = Heads(cfg.d_model)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def prepare(self, waves: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone input and frame mask for mono 22050 Hz waveforms: ``(x, mask (B, T) bool)``;
        ``x`` is (B, T, 80) dB log-mel for ``mel``, (B, n) zero-padded samples for ``mert``."""
        n = max(len(w) for w in waves)
        wave = np.zeros((len(waves), n), dtype=np.float32)
        for i, w in enumerate(waves):
            wave[i, : len(w)] = w
        t = fe.n_frames_for(n)
        mask = torch.zeros(len(waves), t, dtype=torch.bool)
        for i, w in enumerate(waves):
            mask[i, : fe.n_frames_for(len(w))] = True
        x = torch.from_numpy(wave)
        if self.backbone.input_kind == "mel":
            x = fe.log_mel(x)
        return x, mask

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                with_embedding: bool = False) -> dict[str, torch.Tensor]:
        """Logits per head; ``with_embedding`` adds ``"embedding"``: the encoder's fused features
        (B, T, d_model) that the structure heads read (used for embedding novelty)."""
        n_frames = x.shape[1] if self.backbone.input_kind == "mel" else fe.n_frames_for(x.shape[-1])
        if mask is None:
            mask = torch.ones(x.shape[0], n_frames, dtype=torch.bool, device=x.device)
        h = self.backbone(x, n_frames, mask)
        local, fused = self.encoder(h, mask)
        out = self.heads(local, fused)
        if with_embedding:
            out["embedding"] = fused
        return out


# -- checkpoints ----------------------------------------------------------------------------------
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
    from djstruct import __version__

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
