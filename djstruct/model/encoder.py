"""Temporal encoder: a beat-rate branch and a whole-track structure branch.

- beat branch: residual dilated temporal convolutions at the frame rate (43.07 Hz); receptive field
  ~``kernel * 2**n_layers`` frames (k=5, 6 layers: ~7 s), enough to lock onto the beat and the bar.
- structure branch: the beat-branch output mean-pooled by ``struct_pool`` (16 -> 2.7 Hz), a sinusoidal
  position code, then a full-attention transformer over the whole track (a 7-minute track is ~1,100
  pooled frames), upsampled back to the frame rate and added to the beat-branch features.

Input ``(B, T, d_model)``, mask ``(B, T)`` bool (True = real frame); output ``(local, fused)``, both
``(B, T, d_model)``: ``local`` carries beat-level detail, ``fused`` adds whole-track context.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from djstruct.model.config import ModelConfig


class TemporalBlock(nn.Module):
    """x + Dropout(Conv1d_dilated(GELU(LayerNorm(x)) * mask)): padded frames enter the convolution as
    zeros, exactly like its own zero padding, so a track padded in a batch sees what it sees alone."""

    def __init__(self, d: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, m: torch.Tensor | None = None) -> torch.Tensor:
        h = F.gelu(self.norm(x))
        if m is not None:
            h = h * m
        h = h.transpose(1, 2)
        return x + self.drop(self.conv(h).transpose(1, 2))


def sinusoid(n: int, d: int, device: torch.device) -> torch.Tensor:
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe


def masked_pool(x: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over blocks of ``k`` frames of the real frames: (B, T, d) -> (B, ceil(T/k), d), mask too."""
    b, t, d = x.shape
    tp = -(-t // k)
    pad = tp * k - t
    m = mask.to(x.dtype)
    xs = F.pad(x * m[..., None], (0, 0, 0, pad)).reshape(b, tp, k, d).sum(2)
    cnt = F.pad(m, (0, pad)).reshape(b, tp, k).sum(2)
    return xs / cnt.clamp(min=1.0)[..., None], cnt > 0


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d, ds = cfg.d_model, cfg.struct_dim
        self.pool = cfg.struct_pool
        self.beat = nn.ModuleList(
            [TemporalBlock(d, cfg.tcn_kernel, 2**i, cfg.dropout) for i in range(cfg.tcn_layers)])
        self.beat_norm = nn.LayerNorm(d)
        self.down = nn.Linear(d, ds)
        self.struct_conv = nn.Conv1d(ds, ds, 3, padding=1)
        layer = nn.TransformerEncoderLayer(ds, cfg.struct_heads, cfg.struct_ff, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.struct = nn.TransformerEncoder(layer, cfg.struct_layers, enable_nested_tensor=False)
        self.struct_norm = nn.LayerNorm(ds)
        self.up = nn.Linear(ds, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = mask[..., None].to(x.dtype)
        x = x * m
        for blk in self.beat:
            x = blk(x, m) * m  # keep padded frames at zero, like the convolutions' own padding
        local = self.beat_norm(x)
        p, pmask = masked_pool(local, mask, self.pool)
        s = self.down(p) * pmask[..., None].to(p.dtype)  # all-padding blocks stay zero for the conv
        s = s + self.struct_conv(s.transpose(1, 2)).transpose(1, 2)
        s = s + sinusoid(s.shape[1], s.shape[2], s.device).to(s.dtype)
        s = self.struct(s, src_key_padding_mask=~pmask)
        s = self.struct_norm(s)
        s = s.repeat_interleave(self.pool, dim=1)[:, : x.shape[1]]
        return local, local + self.up(s)
