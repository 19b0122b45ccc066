"""The structure model (configuration: :mod:`.config`; checkpoints: :mod:`.checkpoint`).

``StructureModel(cfg)``: backbone -> encoder (beat branch + whole-track structure branch) -> heads.
``model(x, mask)`` returns logits at 43.07 Hz (see :mod:`djstruct.model.heads`);
``model.prepare(waves)`` turns mono 22050 Hz waveforms into the backbone's input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from djstruct.model import frontend as fe
from djstruct.model.backbone import build_backbone
from djstruct.model.config import ModelConfig
from djstruct.model.encoder import Encoder
from djstruct.model.heads import Heads


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


