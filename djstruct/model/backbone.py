"""Backbones: turn the model input into frame features ``(B, T, d)`` at the frontend frame rate (43.07 Hz).

- ``mel`` (default): a small 2-D conv stem over the dB log-mel of :mod:`djstruct.model.frontend`
  (input ``(B, T, 80)`` dB); a few tens of thousands of parameters, CPU-friendly.
- ``mert``: a transformers ``HubertModel`` (MERT-v1-95M / 330M weights are plain HuBERT state dicts),
  loaded from a local directory or the Hugging Face cache with ``local_files_only=True`` (never a
  download). Input: mono waveform ``(B, n)`` at 22050 Hz, resampled to 24 kHz inside; the encoder's
  75 Hz hidden states (computed on ``mert_chunk_s`` chunks) are projected to ``d`` and linearly resampled
  to the frontend frame rate. All
  but the last ``mert_trainable_layers`` transformer layers (and the conv feature encoder) are frozen.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional as F

from djstruct.errors import ModelError
from djstruct.model import frontend as fe

if TYPE_CHECKING:
    from djstruct.model.config import ModelConfig

MERT_ENV = "DJSTRUCT_MERT_PATH"
MERT_SAMPLE_RATE_HZ = 24000


class Backbone(nn.Module):
    """Interface: ``input_kind`` is ``"mel"`` (forward takes (B, T, 80) dB log-mel) or ``"wave"``
    (forward takes (B, n) float32 at 22050 Hz); ``forward(x, n_frames)`` returns (B, n_frames, out_dim)."""

    input_kind: str = "mel"
    out_dim: int = 0

    def forward(self, x: torch.Tensor, n_frames: int) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


def normalise_mel(mel_db: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-track level normalisation: dB relative to the track's loudest bin, / 20, floored at -5
    (100 dB). ``mel_db`` (B, T, F); padded frames (``mask`` False) are ignored for the reference."""
    x = mel_db
    if mask is not None:
        x = x.masked_fill(~mask[..., None], -1e4)
    ref = x.amax(dim=(1, 2), keepdim=True)
    return ((mel_db - ref) / 20.0).clamp(min=-5.0) + 2.5


class MelBackbone(Backbone):
    """Conv stem: per stage Conv2d 3x3 -> GELU -> max-pool the mel axis (by ``stem_pools``: 80 -> 20 -> 10
    bins), then a linear map of the flattened (channels x remaining bins) to ``d_model``. Time resolution
    is kept (43.07 Hz)."""

    input_kind = "mel"

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        chans = (1, *cfg.stem_channels)
        layers: list[nn.Module] = []
        n_bins = cfg.n_mels
        for a, b, pool in zip(chans[:-1], chans[1:], cfg.stem_pools, strict=True):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.GELU(), nn.MaxPool2d((pool, 1))]
            n_bins //= pool
        self.stem = nn.Sequential(*layers)
        self.proj = nn.Linear(chans[-1] * n_bins, cfg.d_model)
        self.out_dim = cfg.d_model

    def forward(self, x: torch.Tensor, n_frames: int, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = normalise_mel(x, mask)  # (B, T, F)
        m = None if mask is None else mask[:, None, None, :].to(x.dtype)
        h = x.transpose(1, 2)[:, None]  # (B, 1, F, T)
        for layer in self.stem:
            h = layer(h * m if m is not None and isinstance(layer, nn.Conv2d) else h)
        # padded frames enter each conv as zeros, like the convolutions' own padding: (B, C, F', T)
        b, c, f, t = h.shape
        return self.proj(h.permute(0, 3, 1, 2).reshape(b, t, c * f))


def resolve_mert_path(path: str | None) -> str:
    """The MERT weights to load: ``path``, else ``$DJSTRUCT_MERT_PATH``; a directory (config.json +
    weights) or a Hugging Face repo id already in the local HF cache."""
    p = path or os.environ.get(MERT_ENV)
    if not p:
        raise ModelError(None, f"the mert backbone needs MERT weights: set {MERT_ENV} to a directory with "
                         "config.json and the model weights (e.g. a local copy of m-a-p/MERT-v1-95M)")
    return str(Path(p).expanduser()) if Path(p).expanduser().exists() else p


def load_hubert(path: str) -> Any:
    """``HubertModel`` from a local directory or the HF cache, never downloading."""
    from transformers import HubertModel

    try:
        return HubertModel.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as e:
        raise ModelError(path, f"cannot load MERT/HuBERT weights offline ({e}); point {MERT_ENV} at a "
                         "directory holding config.json and the weights") from e


class MertBackbone(Backbone):
    """HuBERT/MERT encoder (partly frozen) -> Linear(hidden, d_model) -> resampled to the frame rate."""

    input_kind = "wave"

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        from transformers import HubertConfig, HubertModel

        if cfg.mert_config is not None:  # rebuilt from a checkpoint (or random for benchmarks)
            self.hubert = HubertModel(HubertConfig(**cfg.mert_config))
        else:
            self.hubert = load_hubert(resolve_mert_path(cfg.mert_path))
        self.hubert.config.apply_spec_augment = False
        hidden = int(self.hubert.config.hidden_size)
        self.proj = nn.Linear(hidden, cfg.d_model)
        self.out_dim = cfg.d_model
        self.chunk_s = cfg.mert_chunk_s
        self.chunk_batch = 4
        self.freeze(cfg.mert_trainable_layers)

    def hubert_config_dict(self) -> dict[str, Any]:
        d = self.hubert.config.to_dict()
        return {k: v for k, v in d.items() if not k.startswith("_") and k != "transformers_version"}

    def freeze(self, trainable_layers: int) -> None:
        for p in self.hubert.parameters():
            p.requires_grad_(False)
        layers = self.hubert.encoder.layers
        for layer in layers[max(len(layers) - trainable_layers, 0):] if trainable_layers > 0 else []:
            for p in layer.parameters():
                p.requires_grad_(True)

    def forward(self, x: torch.Tensor, n_frames: int, mask: torch.Tensor | None = None) -> torch.Tensor:
        n24 = int(round(x.shape[-1] * MERT_SAMPLE_RATE_HZ / fe.SAMPLE_RATE_HZ))
        w = F.interpolate(x[:, None], size=n24, mode="linear", align_corners=False)[:, 0]
        w = (w - w.mean(dim=-1, keepdim=True)) / (w.std(dim=-1, keepdim=True) + 1e-7)  # HuBERT input norm
        # Whole tracks are far longer than MERT's training clips (and full attention over 27,000
        # frames would need tens of GB): run the encoder on chunks and concatenate the hidden states.
        b = w.shape[0]
        chunk = max(int(self.chunk_s * MERT_SAMPLE_RATE_HZ), 400)
        k = -(-n24 // chunk)
        w = F.pad(w, (0, k * chunk - n24)).reshape(b * k, chunk)
        parts = [self.hubert(w[i: i + self.chunk_batch]).last_hidden_state
                 for i in range(0, b * k, self.chunk_batch)]
        h = torch.cat(parts, dim=0)  # (B*k, Tc, hidden)
        h = h.reshape(b, k * h.shape[1], h.shape[2])
        h = h[:, : max(1, int(round(h.shape[1] * n24 / (k * chunk))))]  # drop the padding's frames
        h = self.proj(h).transpose(1, 2)  # (B, d, T75)
        return F.interpolate(h, size=n_frames, mode="linear", align_corners=False).transpose(1, 2)


def build_backbone(cfg: ModelConfig) -> Backbone:
    if cfg.backbone == "mel":
        return MelBackbone(cfg)
    if cfg.backbone == "mert":
        return MertBackbone(cfg)
    raise ModelError(None, f"unknown backbone {cfg.backbone!r} (known: mel, mert)")
